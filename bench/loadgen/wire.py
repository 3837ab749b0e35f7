"""picows clients and the three dialects the servers speak.

socialhub authenticates by its session cookie; the peers by `?token=`; python-socketio by the
token in the Engine.IO URL, after which the client must answer the open packet with a namespace
connect (`40`) and each ping (`2`) with a pong (`3`). Everything else is one JSON frame per
WebSocket message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

HANDSHAKE_TIMEOUT = 15.0
Frame = dict[str, Any]


class Codec:
    """The peers' dialect: `?token=`, JSON frames."""

    handshake = False

    def url(self, port: int, token: str) -> tuple[str, list[tuple[str, str]]]:
        return f"ws://127.0.0.1:{port}/ws?token={token}", []

    def encode(self, frame: Frame) -> bytes:
        return orjson.dumps(frame)

    def decode(self, client: Client, payload: bytes) -> Frame | None:
        decoded: Frame = orjson.loads(payload)
        return decoded


class SocialhubCodec(Codec):
    def url(self, port: int, token: str) -> tuple[str, list[tuple[str, str]]]:
        return f"ws://127.0.0.1:{port}/ws", [("Cookie", f"socialhub_session={token}")]


class SocketIOCodec(Codec):
    handshake = True

    def url(self, port: int, token: str) -> tuple[str, list[tuple[str, str]]]:
        return f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket&token={token}", []

    def encode(self, frame: Frame) -> bytes:
        return b'42["m",' + orjson.dumps(frame) + b"]"

    def decode(self, client: Client, payload: bytes) -> Frame | None:
        if payload.startswith(b"42"):
            event: Frame = orjson.loads(payload[2:])[1]
            return event
        if payload == b"2":
            client.send_raw(b"3")
        elif payload.startswith(b"0"):
            client.send_raw(b"40")
        elif payload.startswith(b"40"):
            client.opened()
        elif payload.startswith(b"44"):
            client.failed(ConnectionRefusedError(payload.decode(errors="replace")))
        return None


CODECS: dict[str, Codec] = {
    "socialhub": SocialhubCodec(),
    "plain": Codec(),
    "socketio": SocketIOCodec(),
}

Sink = Callable[["Client", Frame], None]


class Client(WSListener):
    """One WebSocket; every decoded frame goes to the workload's sink."""

    def __init__(self, index: int, codec: Codec, sink: Sink) -> None:
        self.index = index
        self.codec = codec
        self.sink = sink
        self.transport: WSTransport | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        if not self.codec.handshake:
            self.opened()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT:
            decoded = self.codec.decode(self, frame.get_payload_as_bytes())
            if decoded is not None:
                self.sink(self, decoded)
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed = True
        self.failed(ConnectionResetError("disconnected"))

    def opened(self) -> None:
        if not self.ready.done():
            self.ready.set_result(None)

    def failed(self, error: Exception) -> None:
        if not self.ready.done():
            self.ready.set_exception(error)

    def send(self, frame: Frame) -> None:
        self.send_raw(self.codec.encode(frame))

    def send_raw(self, payload: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.send(WSMsgType.TEXT, payload)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.disconnect()


async def connect_many(
    codec: Codec,
    port: int,
    tokens: Sequence[str],
    sink: Sink,
    concurrency: int = 100,
    budget: float = 60.0,
    pace: float = 0.0,
) -> list[Client | None]:
    """Open one client per token, at most `concurrency` handshakes at a time, handshake i
    starting no sooner than i * `pace` seconds from now; None for each that failed (refused,
    timed out, closed before it was ready) or was not started within `budget` seconds (a
    server slowing down must not keep the run waiting)."""
    gate = asyncio.Semaphore(concurrency)
    began = time.monotonic()
    deadline = began + budget

    async def one(index: int, token: str) -> Client | None:
        if pace:
            await asyncio.sleep(max(0.0, began + index * pace - time.monotonic()))
        async with gate:
            if time.monotonic() > deadline:
                return None
            client = Client(index, codec, sink)
            url, headers = codec.url(port, token)
            try:
                await asyncio.wait_for(
                    ws_connect(lambda: client, url, extra_headers=headers), HANDSHAKE_TIMEOUT
                )
                await asyncio.wait_for(client.ready, HANDSHAKE_TIMEOUT)
            except Exception:  # refused, timed out, reset: counted as a failure
                client.close()
                return None
            return client

    return list(await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens))))


def close_all(clients: Sequence[Client | None]) -> None:
    for client in clients:
        if client is not None:
            client.close()
