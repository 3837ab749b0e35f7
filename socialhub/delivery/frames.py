"""The frames the server sends for stored rows: the same shape live, in a replay and in history."""

from __future__ import annotations

from typing import Any

from socialhub.storage.stores.message_changes import EDIT, REACTION, MessageChange, ReactionCount
from socialhub.storage.stores.messages import Message
from socialhub.storage.stores.notifications import Notification


def message_frame(message: Message) -> dict[str, Any]:
    """A stored message as the reference's frame, with `id` and `from` (also its history
    shape), as it is now: `reply_to` when it answers one, `edited` and `edited_at` once edited,
    a deleted one a tombstone. A new message without a reply is the reference's frame alone,
    one dict display, as it is made for every message relayed."""
    if message.deleted_at is not None:
        return _tombstone(message)
    if message.group_id is not None:
        frame = {
            "type": "group",
            "id": message.id,
            "from": message.sender_id,
            "group_id": str(message.group_id),
            "content": message.content,
            "timestamp": message.created_at,
        }
    else:
        frame = {
            "type": "private",
            "id": message.id,
            "from": message.sender_id,
            "to": message.recipient_id,
            "content": message.content,
            "timestamp": message.created_at,
        }
    if message.reply_to is not None:
        frame["reply_to"] = message.reply_to
    if message.edited_at is not None:
        frame["edited"] = True
        frame["edited_at"] = message.edited_at
    return frame


def _tombstone(message: Message) -> dict[str, Any]:
    """A deleted message: who wrote it where and when, without content, reply or reactions."""
    frame: dict[str, Any] = {"type": "private", "id": message.id, "from": message.sender_id}
    if message.group_id is not None:
        frame["type"] = "group"
        frame["group_id"] = str(message.group_id)
    else:
        frame["to"] = message.recipient_id
    frame["timestamp"] = message.created_at
    frame["deleted"] = True
    return frame


def history_item(message: Message, reactions: list[ReactionCount]) -> dict[str, Any]:
    """A message of a history page: its frame, and its reactions when it has any."""
    frame = message_frame(message)
    if reactions and message.deleted_at is None:
        frame["reactions"] = [
            {"emoji": reaction.emoji, "count": reaction.count, "mine": reaction.mine}
            for reaction in reactions
        ]
    return frame


def change_frame(change: MessageChange) -> dict[str, Any]:
    """An edit, a deletion or a reaction as sent live and replayed. `from` is the author of an
    edit or a deletion, the reactor of a reaction; `to` is then the other user of the private
    conversation, so that (`from`, `to`) names it as a private message's frame does."""
    author = change.sender_id
    frame: dict[str, Any] = {"type": change.kind, "message_id": change.message_id}
    if change.kind == REACTION:
        frame["from"] = change.actor_id
        frame["emoji"] = change.emoji
        frame["on"] = change.is_on
    else:
        frame["from"] = author
        if change.kind == EDIT:
            frame["content"] = change.content
            frame["edited_at"] = change.created_at
        else:
            frame["deleted_at"] = change.created_at
    if change.group_id is not None:
        frame["group_id"] = str(change.group_id)
    else:
        frame["to"] = change.recipient_id if frame["from"] == author else author
    return frame


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
