"""The client side of `python -m bench.faults`: senders that keep every ack, receivers that
resume from their cursor, and the check of both against history.

Sender i (user i) sends private messages to its partner (user i + PAIRS) until told to
finish, paced, at most `window` unanswered at a time, each with a client id that is also its
content. It behaves as docs/faults.md tells a client to: an `error` or a lost connection puts
the frame back to be sent again with the same id (after a short backoff), and it reconnects
until the server is back. A receiver reconnects with `since=<last cursor>` and counts each delivery.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from picows import ws_connect

from bench.loadgen import wire

PAIRS = 10
POLL = 0.005
BACKOFF = 0.2  # seconds before resending after an error or reconnecting after a failure
RUN = secrets.token_hex(4)


class ResumingCodec(wire.SocialhubCodec):
    """socialhub's dialect, opening `/ws?since=<cursor>`."""

    def __init__(self, since: str) -> None:
        self.since = since

    def url(self, port: int, token: str) -> tuple[str, list[tuple[str, str]]]:
        url, headers = super().url(port, token)
        return f"{url}?since={self.since}", headers


async def open_socket(port: int, token: str, codec: wire.Codec, sink: wire.Sink) -> wire.Client:
    """One socket, or an OSError (refused, reset, 503) the caller retries after."""
    client = wire.Client(0, codec, sink)
    url, headers = codec.url(port, token)
    try:
        await asyncio.wait_for(
            ws_connect(lambda: client, url, extra_headers=headers), wire.HANDSHAKE_TIMEOUT
        )
    except Exception as error:  # picows raises its own handshake errors too
        client.close()
        raise OSError(str(error)) from error
    return client


@dataclass
class Sender:
    user: int
    token: str
    rate: float  # frames a second, resends included
    window: int
    total: int = 2**62  # messages to send: until finish() says how many were
    acked: dict[str, int] = field(default_factory=dict)  # client id -> message id
    mismatched: int = 0  # a resent id acked with another message id
    errors: Counter[str] = field(default_factory=Counter)
    unanswered: set[str] = field(default_factory=set)
    resend: list[str] = field(default_factory=list)
    next: int = 0
    sent: int = 0
    reconnects: int = 0
    hold_until: float = 0.0

    def finish(self) -> None:
        """No new messages from now on: the unanswered ones are still seen through."""
        self.total = self.next

    def cid(self, number: int) -> str:
        return f"{RUN}-u{self.user}-{number}"

    def sink(self, client: wire.Client, frame: dict[str, Any]) -> None:
        cid = str(frame.get("id"))
        if frame.get("type") == "ack":
            first = self.acked.setdefault(cid, int(frame["message_id"]))
            self.mismatched += first != frame["message_id"]
        elif frame.get("type") == "error":
            self.errors[str(frame.get("code"))] += 1
            self.resend.append(cid)
            self.hold_until = time.monotonic() + BACKOFF
        else:
            return
        self.unanswered.discard(cid)

    async def run(self, port: int) -> None:
        """Until every message is acked; never gives up while the server is away."""
        began, client = time.monotonic(), None
        while len(self.acked) < self.total:
            if client is None or client.closed:
                client = await self.reconnect(port, client)
                continue
            allowed = int((time.monotonic() - began) * self.rate)
            while self.sent < allowed and len(self.unanswered) < self.window:
                if time.monotonic() < self.hold_until or not self.send_one(client):
                    break
            await asyncio.sleep(POLL)
        if client is not None:
            client.close()

    def send_one(self, client: wire.Client) -> bool:
        if self.resend:
            cid = self.resend.pop(0)
        elif self.next < self.total:
            cid, self.next = self.cid(self.next), self.next + 1
        else:
            return False
        if cid in self.acked:
            return True
        self.unanswered.add(cid)
        self.sent += 1
        client.send({"type": "private", "to": self.user + PAIRS, "content": cid, "id": cid})
        return True

    async def reconnect(self, port: int, old: wire.Client | None) -> wire.Client | None:
        """The unanswered frames of the lost socket go back in line; None while refused."""
        if old is not None:
            self.reconnects += 1
            self.resend[:0] = sorted(self.unanswered, key=lambda c: int(c.rpartition("-")[2]))
            self.unanswered.clear()
        try:
            return await open_socket(port, self.token, wire.CODECS["socialhub"], self.sink)
        except OSError:
            await asyncio.sleep(BACKOFF)
            return None


@dataclass
class Receiver:
    """Counts each message it is given; resumes from its last cursor."""

    token: str
    cursor: str = "now"
    delivered: Counter[str] = field(default_factory=Counter)
    resyncs: int = 0
    client: wire.Client | None = None

    def sink(self, client: wire.Client, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "private":
            self.delivered[str(frame["content"])] += 1
        elif kind == "resync_required":
            self.resyncs += 1
        if "cursor" in frame:
            self.cursor = str(frame["cursor"])

    async def keep_open(self, port: int, done: asyncio.Event) -> None:
        while not done.is_set():
            if self.client is None or self.client.closed:
                codec = ResumingCodec(self.cursor)
                try:
                    self.client = await open_socket(port, self.token, codec, self.sink)
                except OSError:
                    await asyncio.sleep(BACKOFF)
            await asyncio.sleep(POLL * 10)
        if self.client is not None:
            self.client.close()


async def history(port: int, sender: Sender) -> list[dict[str, Any]]:
    """Every message between a sender and its partner, read through the history endpoint."""
    url = f"http://127.0.0.1:{port}/api/messages/private"
    cookies = {"socialhub_session": sender.token}
    messages: list[dict[str, Any]] = []
    async with aiohttp.ClientSession(cookies=cookies) as session:
        while True:
            params = {"user": str(sender.user + PAIRS), "limit": "100"}
            if messages:
                params["before"] = str(messages[-1]["id"])
            async with session.get(url, params=params) as response:
                response.raise_for_status()
                page: list[dict[str, Any]] = await response.json()
            if not page:
                return messages
            messages += page


@dataclass
class Check:
    acked: int = 0
    lost: int = 0  # acked, not in history under its message id
    duplicates: int = 0  # stored more than once
    stored: int = 0
    mismatched: int = 0
    undelivered: int = 0
    delivered_twice: int = 0
    resyncs: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    reconnects: int = 0
    resent: int = 0  # frames sent again after a lost connection or an error

    def passed(self) -> bool:
        return not (self.lost or self.duplicates or self.mismatched)


async def check(port: int, senders: list[Sender], receivers: list[Receiver]) -> Check:
    """Every ack against history, every stored message against the receivers' counts."""
    result = Check()
    for sender, receiver in zip(senders, receivers, strict=True):
        messages = await history(port, sender)
        stored = Counter(m["content"] for m in messages)
        content_of = {m["id"]: m["content"] for m in messages}
        result.acked += len(sender.acked)
        result.lost += sum(content_of.get(i) != c for c, i in sender.acked.items())
        result.duplicates += sum(n - 1 for n in stored.values())
        result.stored += sum(stored.values())
        result.mismatched += sender.mismatched
        result.errors += sender.errors
        result.reconnects += sender.reconnects
        result.resent += sender.sent - sender.total
        result.undelivered += sum(1 for c in stored if not receiver.delivered[c])
        result.delivered_twice += sum(1 for n in receiver.delivered.values() if n > 1)
        result.resyncs += receiver.resyncs
    return result


async def deliveries_settle(senders: list[Sender], receivers: list[Receiver], wait: float) -> None:
    """Until every acked message reached its receiver, or `wait` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if all(
            all(r.delivered[c] for c in s.acked) for s, r in zip(senders, receivers, strict=True)
        ):
            return
        await asyncio.sleep(0.1)


@dataclass
class Health:
    """What /healthz of one server said: each change, and the latest answer."""

    changes: list[tuple[float, int, str]] = field(default_factory=list)
    latest: tuple[float, int] = (0.0, 0)  # when, status

    async def poll(self, port: int, began: float) -> None:
        """Every 0.1 s; times are seconds since `began` (monotonic)."""
        url = f"http://127.0.0.1:{port}/healthz"
        timeout = aiohttp.ClientTimeout(total=3)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                try:
                    async with session.get(url) as response:
                        body = await response.json()
                        state = (response.status, f"db={body['database']} bus={body['bus']}")
                except (TimeoutError, aiohttp.ClientError):
                    state = (0, "no answer")
                now = time.monotonic() - began
                if not self.changes or self.changes[-1][1:] != state:
                    self.changes.append((now, *state))
                self.latest = (now, state[0])
                await asyncio.sleep(0.1)
