"""Delivery across processes: local sockets at once, every other process through the bus.

Channels (Crossbar's observation idea): a process subscribes to a user's channel while that user
has a connection here, to a group's channel while one of the group's members is connected here,
and always to the broadcast channel. So a process receives only what its own users need.

A frame is serialized once. The publishing process delivers it to its own sockets directly and
ignores its own envelope when the bus hands it back; other processes forward the payload bytes.
Group envelopes carry the member list, so a process whose subscription is stale never delivers
to someone who left.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import orjson
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from socialhub.bus.envelope import CLOSE, FRAME, GROUPS, Envelope
from socialhub.bus.interface import Bus
from socialhub.metrics import Metrics
from socialhub.router.delivery import Connection
from socialhub.router.registry import Router

BROADCAST = b"socialhub:broadcast"
_log = Logger(namespace="socialhub.fanout")


def user_channel(user_id: int) -> bytes:
    return b"socialhub:u:%d" % user_id


def group_channel(group_id: int) -> bytes:
    return b"socialhub:g:%d" % group_id


def _channel_id(channel: bytes) -> int:
    return int(channel.rsplit(b":", 1)[1])


class Fanout:
    """The Delivery that handlers use, over this process's Router and the bus."""

    def __init__(
        self,
        router: Router,
        bus: Bus,
        group_ids_of: Callable[[int], Awaitable[list[int]]],
        clock: IReactorTime,
        metrics: Metrics,
    ) -> None:
        self.router = router
        self.bus = bus
        self.process_id = secrets.token_hex(8)
        self._group_ids_of = group_ids_of
        self._clock = clock
        self._metrics = metrics
        self._groups_of_user: dict[int, set[int]] = {}
        self._local_members: dict[int, set[int]] = {}
        bus.set_handler(self._received)

    async def start(self) -> None:
        self.bus.subscribe(BROADCAST)
        await self.bus.start()

    async def stop(self) -> None:
        await self.bus.stop()

    # Connections come and go.

    async def opened(self, connection: Connection) -> None:
        """Register a new connection; the user's first one subscribes their channels."""
        user_id = connection.user_id
        if not self.router.add(connection):
            return
        self.bus.subscribe(user_channel(user_id))
        self._groups_of_user[user_id] = set()
        for group_id in await self._group_ids_of(user_id):
            if user_id in self._groups_of_user:  # still connected after the lookup
                self._join(user_id, group_id)

    def closed(self, connection: Connection) -> None:
        """Forget a connection; the user's last one unsubscribes their channels."""
        if not self.router.remove(connection):
            return
        user_id = connection.user_id
        self.bus.unsubscribe(user_channel(user_id))
        for group_id in self._groups_of_user.pop(user_id, set()):
            self._leave(user_id, group_id)

    def _join(self, user_id: int, group_id: int) -> None:
        self._groups_of_user[user_id].add(group_id)
        members = self._local_members.setdefault(group_id, set())
        if not members:
            self.bus.subscribe(group_channel(group_id))
        members.add(user_id)

    def _leave(self, user_id: int, group_id: int) -> None:
        self._groups_of_user.get(user_id, set()).discard(group_id)
        members = self._local_members.get(group_id)
        if members is None:
            return
        members.discard(user_id)
        if not members:
            del self._local_members[group_id]
            self.bus.unsubscribe(group_channel(group_id))

    # Delivery, as the handlers call it.

    def to_users(
        self,
        user_ids: Collection[int],
        frame: Mapping[str, Any],
        exclude: Connection | None = None,
    ) -> None:
        payload = self._serialize(frame)
        self.router.deliver(user_ids, payload, _id_of(exclude))
        message = self._envelope(FRAME, payload, x=_id_of(exclude))
        for user_id in user_ids:
            self.bus.publish(user_channel(user_id), message)

    def to_group(
        self,
        group_id: int,
        member_ids: Collection[int],
        frame: Mapping[str, Any],
        exclude: Connection | None = None,
    ) -> None:
        payload = self._serialize(frame)
        self.router.deliver(member_ids, payload, _id_of(exclude))
        message = self._envelope(FRAME, payload, x=_id_of(exclude), m=list(member_ids))
        self.bus.publish(group_channel(group_id), message)

    def to_everyone(self, frame: Mapping[str, Any], exclude: Connection | None = None) -> None:
        payload = self._serialize(frame)
        self.router.deliver_everyone(payload, _id_of(exclude))
        self.bus.publish(BROADCAST, self._envelope(FRAME, payload, x=_id_of(exclude)))

    def close_sessions(
        self, user_id: int, session_ids: Collection[int], code: int, reason: str
    ) -> None:
        self.router.close_sessions(session_ids, code, reason)
        message = self._envelope(CLOSE, b"", s=list(session_ids), c=code, r=reason)
        self.bus.publish(user_channel(user_id), message)

    def membership_changed(self, user_id: int, group_id: int, joined: bool) -> None:
        """A user joined or left a group: every process holding them (un)subscribes."""
        self._apply_membership(user_id, group_id, joined)
        message = self._envelope(GROUPS, b"", g=group_id, j=joined)
        self.bus.publish(user_channel(user_id), message)

    def _apply_membership(self, user_id: int, group_id: int, joined: bool) -> None:
        if user_id not in self._groups_of_user:
            return
        if joined:
            self._join(user_id, group_id)
        else:
            self._leave(user_id, group_id)

    # What other processes publish.

    def _received(self, channel: bytes, message: bytes) -> None:
        try:
            envelope = Envelope.decode(message)
        except ValueError:
            _log.warn("dropped a malformed bus message on {channel!r}", channel=channel)
            return
        if envelope.origin == self.process_id:
            return
        self._metrics.bus_lag.observe(max(0.0, self._clock.seconds() - envelope.sent_at))
        fields = envelope.fields
        if envelope.kind == FRAME:
            self._deliver_remote(channel, envelope.payload, fields)
        elif envelope.kind == CLOSE:
            self.router.close_sessions(fields["s"], fields["c"], fields["r"])
        elif envelope.kind == GROUPS:
            self._apply_membership(_channel_id(channel), fields["g"], fields["j"])

    def _deliver_remote(self, channel: bytes, payload: bytes, fields: dict[str, Any]) -> None:
        exclude = fields.get("x")
        if channel == BROADCAST:
            self.router.deliver_everyone(payload, exclude)
        elif "m" in fields:
            self.router.deliver(fields["m"], payload, exclude)
        else:
            self.router.deliver([_channel_id(channel)], payload, exclude)

    def _serialize(self, frame: Mapping[str, Any]) -> bytes:
        self._metrics.frames_out.labels(frame["type"]).inc()
        return orjson.dumps(frame)

    def _envelope(self, kind: str, payload: bytes, **fields: Any) -> bytes:
        return Envelope(self.process_id, kind, self._clock.seconds(), payload, fields).encode()


def _id_of(connection: Connection | None) -> str | None:
    return None if connection is None else connection.connection_id
