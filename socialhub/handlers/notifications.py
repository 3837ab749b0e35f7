"""Notifications: a user's list, read state and unread count, and the live push of new ones.

Other handlers store notifications inside the transaction of the action that causes them, then
hand the stored rows to `notify`, which pushes them only then: a notification seen live is
always in the database.
"""

from __future__ import annotations

from collections.abc import Iterable

from socialhub.delivery.frames import notification_frame
from socialhub.delivery.interface import Delivery
from socialhub.handlers.commands import MarkRead
from socialhub.storage.stores.notifications import Notification, NotificationsStore


class Notifications:
    """The rules of notifications."""

    def __init__(self, store: NotificationsStore, delivery: Delivery) -> None:
        self._store = store
        self._delivery = delivery

    async def page(self, user_id: int, limit: int, offset: int) -> list[Notification]:
        return await self._store.page(user_id, limit, offset)

    async def mark_read(self, user_id: int, marked: MarkRead) -> None:
        """Mark read every notification of the user, or those of the ids that are theirs."""
        await self._store.mark_read(user_id, marked.ids)

    async def unread_count(self, user_id: int) -> int:
        return await self._store.unread_count(user_id)

    def notify(self, notifications: Iterable[Notification]) -> None:
        """Push each stored (committed) notification of one transaction to its user's open
        connections, then mark the transaction's stream positions as committed."""
        positions = []
        for notification in notifications:
            frame = notification_frame(notification)
            position = notification.stream_pos
            self._delivery.to_users([notification.user_id], frame, position=position)
            if position is not None:
                positions.append(position)
        if positions:
            self._delivery.committed(min(positions), max(positions))
