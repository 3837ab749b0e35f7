"""Chat: private, group and broadcast frames. Store first, then deliver: ack after commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime

from socialhub.delivery.frames import message_frame
from socialhub.delivery.interface import Connection, Delivery
from socialhub.errors import Forbidden
from socialhub.handlers.accounts import Viewer
from socialhub.handlers.chat_batch import ChatBatch
from socialhub.handlers.commands import Answer, Broadcast, GroupMessage, PrivateMessage
from socialhub.handlers.policy import require_admin
from socialhub.storage.stores.messages import Message
from socialhub.storage.stores.users import UsersStore


class GroupMembers(Protocol):
    """What chat needs to know of groups (the membership rules live with the groups)."""

    async def chat_recipients(self, group_id: int, sender_id: int) -> list[int]:
        """Accepted members of the group; raises NotFound / Forbidden for a non-member."""


class Chat:
    """The rules of the chat frames: private, group and broadcast messages."""

    def __init__(
        self,
        clock: IReactorTime,
        messages: ChatBatch,
        groups: GroupMembers,
        delivery: Delivery,
        users: UsersStore,
    ) -> None:
        self._clock = clock
        self._messages = messages
        self._groups = groups
        self._delivery = delivery
        self._users = users

    def _now(self) -> int:
        return int(self._clock.seconds())

    def _store(
        self,
        viewer: Viewer,
        content: str,
        client_id: str | None,
        deliver: Callable[[dict[str, Any], int | None], None],
        **target: int | None,
    ) -> Deferred[Answer]:
        """Queue a message for storage, once per client id. Once stored, a new one is delivered
        (by `deliver`, given the frame and its stream position) in the very callback that hands
        it back, before the store marks its batch's positions committed."""

        def delivered(result: tuple[Message, bool]) -> Answer:
            message, new = result
            if new:
                deliver(message_frame(message), message.stream_pos)
            return Answer(message.id, message.created_at)

        stored = self._messages.store(viewer.user.id, content, self._now(), client_id, **target)
        return stored.addCallback(delivered)

    # Each handler checks its frame and queues it for storage, and returns what fires once it is
    # stored and delivered (see ws/dispatch.py). Only `group` (its members) and `broadcast`
    # (the sender's role) must read something first, so only they are coroutines: `private`
    # places its frame before returning, without the cost of one.

    def private(
        self, sender: Connection, viewer: Viewer, message: PrivateMessage, client_id: str | None
    ) -> Deferred[Answer]:
        def deliver(stored: dict[str, Any], position: int | None) -> None:
            users = [message.to, viewer.user.id]
            self._delivery.to_users(users, stored, exclude=sender, position=position)

        return self._store(
            viewer,
            message.content,
            client_id,
            deliver,
            recipient_id=message.to,
            reply_to=message.reply_to,
        )

    async def group(
        self, sender: Connection, viewer: Viewer, message: GroupMessage, client_id: str | None
    ) -> Deferred[Answer]:
        members = await self._groups.chat_recipients(message.group_id, viewer.user.id)

        def deliver(stored: dict[str, Any], position: int | None) -> None:
            self._delivery.to_group(
                message.group_id, members, stored, exclude=sender, position=position
            )

        return self._store(
            viewer,
            message.content,
            client_id,
            deliver,
            group_id=message.group_id,
            reply_to=message.reply_to,
        )

    async def broadcast(
        self, sender: Connection, viewer: Viewer, message: Broadcast, client_id: str | None
    ) -> Deferred[Answer]:
        """The role is read as it is now, not as it was when the socket opened: it may have
        been revoked since, by the API or by the operator's tool in another process."""
        current = await self._users.get(viewer.user.id)
        if current is None:
            raise Forbidden("this account no longer exists")
        require_admin(current)
        now = self._now()
        body = {"type": "broadcast", "from": viewer.user.id, "content": message.content}
        self._delivery.to_everyone({**body, "timestamp": now}, exclude=sender)
        return succeed(Answer(None, now))
