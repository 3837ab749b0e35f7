"""The frames the server sends for stored rows: the same shape live, in a replay and in history."""

from __future__ import annotations

from typing import Any

from socialhub.storage.stores.messages import Message
from socialhub.storage.stores.notifications import Notification


def message_frame(message: Message) -> dict[str, Any]:
    """A stored message as the reference's frame, with `id` and `from` (also its history shape)."""
    if message.group_id is not None:
        return {
            "type": "group",
            "id": message.id,
            "from": message.sender_id,
            "group_id": str(message.group_id),
            "content": message.content,
            "timestamp": message.created_at,
        }
    return {
        "type": "private",
        "id": message.id,
        "from": message.sender_id,
        "to": message.recipient_id,
        "content": message.content,
        "timestamp": message.created_at,
    }


def notification_frame(notification: Notification) -> dict[str, Any]:
    """The live `notification` frame: the subtype, and `timestamp` in Unix seconds."""
    return {
        "type": "notification",
        "id": notification.id,
        "subtype": notification.type,
        "message": notification.message,
        "timestamp": notification.created_at,
        **notification.references(),
    }
