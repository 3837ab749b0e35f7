"""Delivery across processes: local sockets at once, every other process through the bus.

Which channels a process subscribes, and why, is `delivery/subscriptions.py`; what travels on them
is `delivery/envelopes.py`. Each type of envelope received has its method (`_on_received`).

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

Presence (`delivery/presence.py`) hears of each user's first connection here and of their
last; its frames go to a whole audience with `to_many`: one envelope listing the users, on the
one channel every process hears.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import orjson
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from socialhub.bus.interface import Bus
from socialhub.delivery.channels import (
    BROADCAST,
    TICKS,
    USERS,
    channel_id,
    claim_key,
    group_channel,
    user_channel,
)
from socialhub.delivery.connections import Connections
from socialhub.delivery.envelopes import (
    CloseEnvelope,
    Envelope,
    FrameEnvelope,
    GroupsEnvelope,
    TickEnvelope,
    decode,
    origin_prefix,
)
from socialhub.delivery.interface import Connection
from socialhub.delivery.presence import Audiences, Presence, PresenceTiming
from socialhub.delivery.replay import Replays
from socialhub.delivery.sequencer import Held, Sequencer
from socialhub.delivery.subscriptions import Subscriptions
from socialhub.metrics import Metrics

NOW = "now"
_log = Logger(namespace="socialhub.fanout")


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
        audiences: Audiences,
        presence_timing: PresenceTiming,
    ) -> None:
        self.connections = connections
        self.bus = bus
        self.process_id = secrets.token_hex(8)
        self._own = origin_prefix(self.process_id)
        self._subscriptions = Subscriptions(bus, group_ids_of)
        self._replays = replays
        self._epoch = ""
        self._sequencer = Sequencer(clock, self._release, self._stuck)
        self._clock = clock
        self._metrics = metrics
        # Each envelope received goes to the method for its type. The methods take the type
        # they are listed with; the table cannot say so to mypy, hence Any.
        self._on_received: dict[type[Envelope], Callable[[bytes, Any], None]] = {
            FrameEnvelope: self._frame_received,
            TickEnvelope: self._tick_received,
            CloseEnvelope: self._close_received,
            GroupsEnvelope: self._groups_received,
        }
        roster = bus.roster(self.process_id, presence_timing.expiry)
        self.presence = Presence(roster, audiences, self.to_many, clock, presence_timing)
        bus.set_handler(self._received)

    async def start(self) -> None:
        self._epoch, position = await self._replays.position()
        self._sequencer.start_at(position)
        self._subscriptions.start()
        self.bus.on_reconnect(self._stuck)  # what was published meanwhile never came
        self.bus.on_reconnect(self.presence.bus_returned)  # nor were the roster's changes made
        await self.bus.start()
        await self.presence.start()

    async def stop(self) -> None:
        await self.presence.stop()
        self._sequencer.stop()
        await self.bus.stop()

    def cursor(self, position: int) -> str:
        return f"{self._epoch}-{position}"

    def _position_of(self, cursor: str) -> int | None:
        """The position a cursor names, or None when it is not one of this stream's."""
        epoch, _, position = cursor.rpartition("-")
        if epoch != self._epoch or not position.isdigit():
            return None
        found = int(position)
        return found if found <= self._sequencer.resolved else None

    # Connections come and go.

    async def opened(self, connection: Connection, since: str | None = None) -> None:
        """Register a new connection and send it what it missed.

        Its user's channels are subscribed (and confirmed) first; everything committed up to the
        stream position read after that comes from the database, anything later from the bus.
        With `since`, the replay is announced with `resumed` (or `resync_required`); without, a
        frame committed while the subscriptions were on their way is still delivered.
        """
        start = self._sequencer.resolved
        position = start if since in (None, NOW) else self._position_of(since or "")
        if self.connections.add(connection, start if position is None else position):
            self.presence.connected(connection.user_id)
        self.connections.hold(connection)
        up_to = start
        try:
            await self._subscriptions.user_connected(connection.user_id)
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

    def closed(self, connection: Connection) -> None:
        """Forget a connection; the user's last one unsubscribes their channels."""
        if self.connections.remove(connection):
            self._subscriptions.user_gone(connection.user_id)
            self.presence.disconnected(connection.user_id)

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
        self._publish(channels, user_ids, payload, position, _id_of(exclude), None)

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
            [group_channel(group_id)], members, payload, position, _id_of(exclude), members
        )

    def committed(self, first: int, last: int) -> None:
        """Positions first..last are committed and their frames handed over: tell everyone."""
        self._sequencer.tick(first, last)
        tick = TickEnvelope(self.process_id, self._clock.seconds(), first, last)
        self.bus.publish(TICKS, tick.encode())

    def _publish(
        self,
        channels: list[bytes],
        user_ids: Collection[int],
        payload: bytes,
        position: int | None,
        exclude: str | None,
        members: list[int] | None,
    ) -> None:
        """Unstored frames go to local sockets at once, stored ones through the Sequencer."""
        if position is None:
            self.connections.deliver(user_ids, payload, exclude)
        else:
            self._sequencer.hold(Held(position, user_ids, payload, exclude))
        envelope = FrameEnvelope(
            self.process_id, self._clock.seconds(), payload, exclude, members, position
        )
        message = envelope.encode()
        for channel in channels:
            self.bus.publish(channel, message)

    def to_many(self, user_ids: Collection[int], frame: Mapping[str, Any]) -> None:
        """An unstored frame to every connection of these users, with one publish however many
        they are (a presence frame to a whole audience)."""
        payload = self._stamped(frame, None)
        self._publish([USERS], user_ids, payload, None, None, list(user_ids))

    def to_everyone(self, frame: Mapping[str, Any], exclude: Connection | None = None) -> None:
        payload = self._stamped(frame, None)
        self.connections.deliver_everyone(payload, _id_of(exclude))
        envelope = FrameEnvelope(self.process_id, self._clock.seconds(), payload, _id_of(exclude))
        self.bus.publish(BROADCAST, envelope.encode())

    def close_sessions(
        self, user_id: int, session_ids: Collection[int], code: int, reason: str
    ) -> None:
        self.connections.close_sessions(session_ids, code, reason)
        now = self._clock.seconds()
        close = CloseEnvelope(self.process_id, now, list(session_ids), code, reason)
        self.bus.publish(user_channel(user_id), close.encode())

    def claim(self, key: str, seconds: float) -> Deferred[bool]:
        return self.bus.claim(claim_key(key), seconds)

    def open_sessions(self) -> dict[int, set[int]]:
        sessions: dict[int, set[int]] = {}
        for connection in self.connections.all_connections():
            sessions.setdefault(connection.user_id, set()).add(connection.session_id)
        return sessions

    async def online(self, user_ids: Collection[int]) -> set[int]:
        return await self.presence.online(user_ids)

    async def presence_shown(self, user_id: int, shown: bool) -> None:
        await self.presence.visibility_changed(user_id, shown)

    def membership_changed(self, user_id: int, group_id: int, joined: bool) -> None:
        """A user joined or left a group: every process holding them (un)subscribes."""
        self._subscriptions.membership_changed(user_id, group_id, joined)
        groups = GroupsEnvelope(self.process_id, self._clock.seconds(), group_id, joined)
        self.bus.publish(user_channel(user_id), groups.encode())

    # What other processes publish.

    def _received(self, channel: bytes, message: bytes) -> None:
        if message.startswith(self._own):
            return  # handled when it was published
        try:
            envelope = decode(message)
        except ValueError:
            _log.warn("dropped a malformed bus message on {channel!r}", channel=channel)
            return
        self._on_received[type(envelope)](channel, envelope)

    def _frame_received(self, channel: bytes, frame: FrameEnvelope) -> None:
        """A stored frame waits for its turn in the sequencer; any other goes out at once. It
        goes to the users it lists (a group's members, an audience), else to the user whose
        channel it came on."""
        if channel == BROADCAST:
            self._observe_lag(frame)
            self.connections.deliver_everyone(frame.payload, frame.exclude)
            return
        user_ids = frame.members if frame.members is not None else [channel_id(channel)]
        if frame.position is not None:
            self._sequencer.hold(Held(frame.position, user_ids, frame.payload, frame.exclude))
            return
        self._observe_lag(frame)
        self.connections.deliver(user_ids, frame.payload, frame.exclude)

    def _tick_received(self, channel: bytes, tick: TickEnvelope) -> None:
        self._sequencer.tick(tick.first, tick.last)

    def _close_received(self, channel: bytes, close: CloseEnvelope) -> None:
        self._observe_lag(close)
        self.connections.close_sessions(close.session_ids, close.code, close.reason)

    def _groups_received(self, channel: bytes, groups: GroupsEnvelope) -> None:
        self._observe_lag(groups)
        self._subscriptions.membership_changed(channel_id(channel), groups.group_id, groups.joined)

    def _observe_lag(self, envelope: Envelope) -> None:
        self._metrics.bus_lag.observe(max(0.0, self._clock.seconds() - envelope.sent_at))

    def _release(self, held: Held) -> None:
        """A stored frame whose turn has come: to its users' local sockets."""
        self.connections.deliver(held.user_ids, held.payload, held.exclude, held.position)

    def _stuck(self) -> None:
        Deferred.fromCoroutine(self.catch_up()).addErrback(
            lambda failure: _log.failure("catching up from the database", failure)
        )

    async def catch_up(self) -> None:
        """Fill every open connection in from the database up to the stream's current position
        (after a bus outage, or a gap that did not close). Group subscriptions are brought up
        to date first: a membership change published meanwhile may never have come."""
        self._sequencer.pause()
        try:
            await self._subscriptions.refresh_groups()
            _, position = await self._replays.position()
            for connection in self.connections.all_connections():
                await self._resume_quietly(connection, position)
            self._sequencer.resolve_up_to(position)
        finally:
            self._sequencer.resume()

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


def _id_of(connection: Connection | None) -> str | None:
    return None if connection is None else connection.connection_id
