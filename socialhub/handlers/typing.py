"""Typing indicators: checked as a message to the same conversation would be, forwarded at most
once a second per sender and conversation (in the whole deployment: a sender with connections
on several processes too), never stored."""

from __future__ import annotations

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime

from socialhub.delivery.interface import Connection, Delivery
from socialhub.handlers import commands
from socialhub.handlers.accounts import Viewer
from socialhub.handlers.chat import GroupMembers
from socialhub.handlers.commands import Answer
from socialhub.handlers.policy import message_refusal
from socialhub.handlers.throttle import INTERVAL, Throttle
from socialhub.storage.stores.messages import MessagesStore

Key = tuple[int, int | None, int | None]  # sender, and the user or group typed to


class Typing:
    """The rule of the `typing` frame. An indicator only says "now": it has no position, so it
    is not replayed, and one a second is all a client needs (it shows it for a few seconds)."""

    def __init__(
        self,
        clock: IReactorTime,
        messages: MessagesStore,
        groups: GroupMembers,
        delivery: Delivery,
    ) -> None:
        self._clock = clock
        self._messages = messages
        self._groups = groups
        self._delivery = delivery
        self._throttle = Throttle(clock)

    async def typing(
        self, sender: Connection, viewer: Viewer, command: commands.Typing, client_id: str | None
    ) -> Deferred[Answer]:
        """Refused as a message to that conversation would be; forwarded unless the sender's
        last one there was less than a second ago; acked either way, with no message id.

        A frame within the second after a forwarded one is dropped before it is checked: the
        one forwarded was checked, and a client types several a second, so checking each would
        cost a database read per dropped frame (four in five of them)."""
        sender_id = viewer.user.id
        key = (sender_id, command.to, command.group_id)
        if not self._throttle.holds(key):
            if command.group_id is not None:
                await self._to_group(sender_id, command.group_id, key)
            elif command.to is not None:
                await self._to_user(sender_id, command.to, key)
        return succeed(Answer(None, int(self._clock.seconds())))

    async def _first(self, key: Key) -> bool:
        """Whether this is the conversation's first frame from the sender this second: in this
        process (asked first: no round trip for the others), then in the deployment."""
        if not self._throttle.allow(key):
            return False
        sender, to, group = key
        return await self._delivery.claim(f"typing:{sender}:{to}:{group}", INTERVAL)

    async def _to_user(self, sender_id: int, to: int, key: Key) -> None:
        refused = await self._messages.refusal_of(sender_id, to)
        if refused is not None:
            raise message_refusal(refused)
        if await self._first(key):
            self._delivery.to_users([to], {"type": "typing", "from": sender_id, "to": to})

    async def _to_group(self, sender_id: int, group_id: int, key: Key) -> None:
        members = await self._groups.chat_recipients(group_id, sender_id)
        if await self._first(key):
            others = [member for member in members if member != sender_id]
            frame = {"type": "typing", "from": sender_id, "group_id": str(group_id)}
            self._delivery.to_group(group_id, others, frame)
