"""Delivery across processes: local sockets at once, every other process through the bus.

Channels (Crossbar's observation idea): a process subscribes to a user's channel while that user
has a connection here, to a group's channel while one of the group's members is connected here,
and always to the broadcast channel. So a process receives only what its own users need.

A frame is serialized once; processes forward the payload bytes as they are. Group envelopes
carry the member list, so a process whose subscription is stale never delivers to someone who
left.

Stored frames (messages, notifications) carry their stream position and a `cursor`. They reach
sockets only through the Sequencer, in position order. A process hands its own stored frames and
ticks to its Sequencer itself, as it publishes them, and drops its own envelopes when the bus
brings them back (recognized by their first bytes, undecoded): its own sockets never wait for a
round trip through Redis, and a position another process stored in between is still a gap, not
skipped, whether the bus is up or down. A connection that resumes with `since` gets what it
missed from the database first; when the bus returns, or when a gap in positions does not close,
every open connection is caught up from the database.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import orjson
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from socialhub.bus.envelope import CLOSE, FRAME, GROUPS, TICK, Envelope, origin_prefix
from socialhub.bus.interface import Bus
from socialhub.delivery.connections import Connections
from socialhub.delivery.interface import Connection
from socialhub.delivery.replay import Replays
from socialhub.delivery.sequencer import Held, Sequencer
from socialhub.metrics import Metrics

BROADCAST = b"socialhub:broadcast"
TICKS = b"socialhub:ticks"
NOW = "now"
_log = Logger(namespace="socialhub.fanout")


def user_channel(user_id: int) -> bytes:
    return b"socialhub:u:%d" % user_id


def group_channel(group_id: int) -> bytes:
    return b"socialhub:g:%d" % group_id


def _channel_id(channel: bytes) -> int:
    return int(channel.rsplit(b":", 1)[1])


class Fanout:
    """The Delivery that handlers use, over this process's Connections and the bus."""

    def __init__(
        self,
        connections: Connections,
        bus: Bus,
        group_ids_of: Callable[[int], Awaitable[list[int]]],
        replays: Replays,
        clock: IReactorTime,
        metrics: Metrics,
    ) -> None:
        self.connections = connections
        self.bus = bus
        self.process_id = secrets.token_hex(8)
        self._own = origin_prefix(self.process_id)
        self._group_ids_of = group_ids_of
        self._replays = replays
        self._epoch = ""
        self.sequencer = Sequencer(clock, self._release, self._stuck)
        self._clock = clock
        self._metrics = metrics
        self._groups_of_user: dict[int, set[int]] = {}
        self._ready: dict[int, Deferred[None]] = {}
        self._local_members: dict[int, set[int]] = {}
        bus.set_handler(self._received)

    async def start(self) -> None:
        self._epoch, self.sequencer.resolved = await self._replays.position()
        self.bus.subscribe(BROADCAST)
        self.bus.subscribe(TICKS)
        self.bus.on_reconnect(self._stuck)  # what was published meanwhile never came
        await self.bus.start()

    async def stop(self) -> None:
        self.sequencer.stop()
        await self.bus.stop()

    def cursor(self, position: int) -> str:
        return f"{self._epoch}-{position}"

    def _position_of(self, cursor: str) -> int | None:
        """The position a cursor names, or None when it is not one of this stream's."""
        epoch, _, position = cursor.rpartition("-")
        if epoch != self._epoch or not position.isdigit():
            return None
        found = int(position)
        return found if found <= self.sequencer.resolved else None

    # Connections come and go.

    async def opened(self, connection: Connection, since: str | None = None) -> None:
        """Register a new connection and send it what it missed.

        Its user's channels are subscribed (and confirmed) first; everything committed up to the
        stream position read after that comes from the database, anything later from the bus.
        With `since`, the replay is announced with `resumed` (or `resync_required`); without, a
        frame committed while the subscriptions were on their way is still delivered.
        """
        start = self.sequencer.resolved
        position = start if since in (None, NOW) else self._position_of(since or "")
        self.connections.add(connection, start if position is None else position)
        self.connections.hold(connection)
        up_to = start
        try:
            await self._subscribed(connection.user_id)
            _, up_to = await self._replays.position()
            missed: list[tuple[int, dict[str, Any]]] | None = []  # `now`: nothing before it
            if position is None:
                missed = None
            elif since != NOW:
                after = self.connections.last_position(connection)
                missed = await self._replays.missed(connection.user_id, after, up_to)
            self._replay(connection, missed, up_to, announce=since is not None)
        finally:
            self.connections.release(connection, up_to)

    def _replay(
        self,
        connection: Connection,
        missed: list[tuple[int, dict[str, Any]]] | None,
        up_to: int,
        announce: bool,
    ) -> None:
        if missed is None:
            connection.send_payload(orjson.dumps({"type": "resync_required"}))
            return
        sent = 0
        for position, frame in missed:
            sent += self.connections.send_at(connection, position, self._stamped(frame, position))
        if announce:
            resumed = {"type": "resumed", "missed": sent, "cursor": self.cursor(up_to)}
            connection.send_payload(orjson.dumps(resumed))

    async def _subscribed(self, user_id: int) -> None:
        """Subscribe the user's channels if this is their first connection here; in any case
        wait until the subscriptions are confirmed."""
        ready = self._ready.get(user_id)
        if ready is None:
            ready = Deferred.fromCoroutine(self._subscribe_user(user_id))
            self._ready[user_id] = ready
        await _shared(ready)

    async def _subscribe_user(self, user_id: int) -> None:
        waiting = [self.bus.subscribe(user_channel(user_id))]
        self._groups_of_user[user_id] = set()
        for group_id in await self._group_ids_of(user_id):
            if user_id in self._groups_of_user:  # still connected after the lookup
                waiting.extend(self._join(user_id, group_id))
        await gatherResults(waiting)

    def closed(self, connection: Connection) -> None:
        """Forget a connection; the user's last one unsubscribes their channels."""
        if not self.connections.remove(connection):
            return
        user_id = connection.user_id
        self._ready.pop(user_id, None)
        self.bus.unsubscribe(user_channel(user_id))
        for group_id in self._groups_of_user.pop(user_id, set()):
            self._leave(user_id, group_id)

    def _join(self, user_id: int, group_id: int) -> list[Deferred[None]]:
        self._groups_of_user[user_id].add(group_id)
        members = self._local_members.setdefault(group_id, set())
        members.add(user_id)
        return [self.bus.subscribe(group_channel(group_id))] if len(members) == 1 else []

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
        position: int | None = None,
    ) -> None:
        payload = self._stamped(frame, position)
        channels = [user_channel(user_id) for user_id in user_ids]
        self._publish(channels, user_ids, payload, position, x=_id_of(exclude))

    def to_group(
        self,
        group_id: int,
        member_ids: Collection[int],
        frame: Mapping[str, Any],
        exclude: Connection | None = None,
        position: int | None = None,
    ) -> None:
        payload = self._stamped(frame, position)
        members = list(member_ids)
        self._publish(
            [group_channel(group_id)], members, payload, position, x=_id_of(exclude), m=members
        )

    def committed(self, first: int, last: int) -> None:
        """Positions first..last are committed and their frames handed over: tell everyone."""
        self.sequencer.tick(first, last)
        self.bus.publish(TICKS, self._envelope(TICK, b"", a=first, b=last))

    def _publish(
        self,
        channels: list[bytes],
        user_ids: Collection[int],
        payload: bytes,
        position: int | None,
        **fields: Any,
    ) -> None:
        """Unstored frames go to local sockets at once, stored ones through the Sequencer."""
        if position is None:
            self.connections.deliver(user_ids, payload, fields.get("x"))
        else:
            fields["p"] = position
        message = self._envelope(FRAME, payload, **fields)
        for channel in channels:
            if position is not None:
                self.sequencer.hold(position, channel, payload, fields)
            self.bus.publish(channel, message)

    def to_everyone(self, frame: Mapping[str, Any], exclude: Connection | None = None) -> None:
        payload = self._stamped(frame, None)
        self.connections.deliver_everyone(payload, _id_of(exclude))
        self.bus.publish(BROADCAST, self._envelope(FRAME, payload, x=_id_of(exclude)))

    def close_sessions(
        self, user_id: int, session_ids: Collection[int], code: int, reason: str
    ) -> None:
        self.connections.close_sessions(session_ids, code, reason)
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
        if message.startswith(self._own):
            return  # handled when it was published
        try:
            envelope = Envelope.decode(message)
        except ValueError:
            _log.warn("dropped a malformed bus message on {channel!r}", channel=channel)
            return
        fields = envelope.fields
        if envelope.kind == TICK:
            self.sequencer.tick(fields["a"], fields["b"])
            return
        if envelope.kind == FRAME and "p" in fields:
            self.sequencer.hold(fields["p"], channel, envelope.payload, fields)
            return
        self._metrics.bus_lag.observe(max(0.0, self._clock.seconds() - envelope.sent_at))
        if envelope.kind == FRAME:
            self._deliver_remote(channel, envelope.payload, fields)
        elif envelope.kind == CLOSE:
            self.connections.close_sessions(fields["s"], fields["c"], fields["r"])
        elif envelope.kind == GROUPS:
            self._apply_membership(_channel_id(channel), fields["g"], fields["j"])

    def _deliver_remote(self, channel: bytes, payload: bytes, fields: dict[str, Any]) -> None:
        exclude = fields.get("x")
        if channel == BROADCAST:
            self.connections.deliver_everyone(payload, exclude)
        elif "m" in fields:
            self.connections.deliver(fields["m"], payload, exclude)
        else:
            self.connections.deliver([_channel_id(channel)], payload, exclude)

    def _release(self, held: Held) -> None:
        """A stored frame whose turn has come: to its users' (or members') local sockets."""
        user_ids = held.fields.get("m") or [_channel_id(held.channel)]
        self.connections.deliver(user_ids, held.payload, held.fields.get("x"), held.position)

    def _stuck(self) -> None:
        Deferred.fromCoroutine(self.catch_up()).addErrback(
            lambda failure: _log.failure("catching up from the database", failure)
        )

    async def catch_up(self) -> None:
        """Fill every open connection in from the database up to the stream's current position
        (after a bus outage, or a gap that did not close). Group subscriptions are brought up
        to date first: a membership change published meanwhile may never have come."""
        self.sequencer.paused = True
        try:
            await self._resubscribe_groups()
            _, position = await self._replays.position()
            for connection in self.connections.all_connections():
                await self._resume_quietly(connection, position)
            self.sequencer.resolve_up_to(position)
        finally:
            self.sequencer.resume()

    async def _resubscribe_groups(self) -> None:
        """Join and leave group channels as the database says each local user's groups are."""
        waiting: list[Deferred[None]] = []
        for user_id in list(self._groups_of_user):
            current = set(await self._group_ids_of(user_id))
            known = self._groups_of_user.get(user_id)
            if known is None:  # their last connection closed meanwhile
                continue
            for group_id in current - known:
                waiting.extend(self._join(user_id, group_id))
            for group_id in known - current:
                self._leave(user_id, group_id)
        await gatherResults(waiting)

    async def _resume_quietly(self, connection: Connection, up_to: int) -> None:
        after = self.connections.last_position(connection)
        missed = await self._replays.missed(connection.user_id, after, up_to)
        self._replay(connection, missed, up_to, announce=False)
        if missed is None:
            self.connections.release(connection, up_to)

    def _stamped(self, frame: Mapping[str, Any], position: int | None) -> bytes:
        """Serialize a frame once, with its cursor when it is stored."""
        self._metrics.frames_out.inc(frame["type"])
        if position is None:
            return orjson.dumps(frame)
        return orjson.dumps({**frame, "cursor": self.cursor(position)})

    def _envelope(self, kind: str, payload: bytes, **fields: Any) -> bytes:
        return Envelope(self.process_id, kind, self._clock.seconds(), payload, fields).encode()


async def _shared(ready: Deferred[None]) -> None:
    """Wait for a Deferred that other waiters share, without taking its result from them."""
    waiter: Deferred[None] = Deferred()

    def passthrough(result: object) -> object:
        waiter.callback(None)
        return result

    ready.addBoth(passthrough)
    await waiter


def _id_of(connection: Connection | None) -> str | None:
    return None if connection is None else connection.connection_id
