"""Conversations: the viewer's list with its unread counts, and moving a read marker.

A marker that moved is announced to every connection of the viewer, on every process, as a
`read` frame, so each device shows the same counts. It is not a stored frame (no position, no
cursor): a client that reconnects reloads the list instead.
"""

from __future__ import annotations

from socialhub.delivery.interface import Delivery
from socialhub.errors import NotFound
from socialhub.handlers.commands import ReadConversation, accepted
from socialhub.handlers.membership import Membership
from socialhub.storage.stores.conversations import (
    Conversation,
    ConversationsStore,
    InGroup,
    Moved,
    Peer,
    Target,
)
from socialhub.storage.stores.users import User, UsersStore


class Conversations:
    """The rules of conversation lists and read markers."""

    def __init__(
        self,
        store: ConversationsStore,
        users: UsersStore,
        membership: Membership,
        delivery: Delivery,
    ) -> None:
        self._store = store
        self._users = users
        self._membership = membership
        self._delivery = delivery

    async def page(self, viewer: User, limit: int, offset: int) -> list[Conversation]:
        return await self._store.page(viewer.id, limit, offset)

    async def unread(self, viewer: User) -> tuple[int, int]:
        """(unread messages, conversations with any unread)."""
        return await self._store.unread(viewer.id)

    async def read(self, viewer: User, command: ReadConversation) -> None:
        """Move the viewer's marker forward to `up_to`: 404 for an unknown user or group, 403
        for a group the viewer is not a member of, then 400 for a bad `up_to`, 404 when it is
        not a message of the conversation. At or below the marker nothing changes."""
        target: Target
        if command.group_id is not None:
            await self._membership.require_member(command.group_id, viewer.id)
            target = InGroup(command.group_id)
        else:
            assert command.user_id is not None
            if await self._users.get(command.user_id) is None:
                raise NotFound("no such user")
            target = Peer(command.user_id)
        up_to = accepted(command.up_to)
        moved = await self._store.move_marker(viewer.id, target, up_to)
        if moved is Moved.NOT_IN_CONVERSATION:
            raise NotFound("up_to is not a message of this conversation")
        if moved is Moved.MOVED:
            self._delivery.to_users([viewer.id], _read_frame(target, up_to))


def _read_frame(target: Target, up_to: int) -> dict[str, object]:
    """The `read` frame of a moved marker (group ids are strings in frames)."""
    if isinstance(target, InGroup):
        return {"type": "read", "group_id": str(target.group_id), "up_to": up_to}
    return {"type": "read", "user": target.user_id, "up_to": up_to}
