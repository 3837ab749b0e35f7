"""python-socketio on aiohttp (uvloop): rooms per user (`u<id>`) and per group (`g<id>`).

The token comes in the query string of the Engine.IO URL; frames are the event `m` both
ways. Packets are encoded with orjson through the `json=` hook, as in the other peers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import socketio
import uvloop
from aiohttp import web

from bench.peers import common


class OrjsonModule:
    """The two functions python-socketio asks of a json module."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        return orjson.loads(text)


def build(fixtures: common.Fixtures) -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", json=OrjsonModule, cors_allowed_origins=[])
    users: dict[str, int] = {}

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        user_id = common.user_of(fixtures, environ.get("QUERY_STRING", ""))
        if user_id is None:
            return False
        users[sid] = user_id
        await sio.enter_room(sid, f"u{user_id}")
        for group_id in fixtures.groups_of.get(user_id, []):
            await sio.enter_room(sid, f"g{group_id}")
        return True

    @sio.event
    async def disconnect(sid: str, *_: Any) -> None:
        users.pop(sid, None)

    @sio.on("m")
    async def message(sid: str, data: Any) -> None:
        routed = common.route(users.get(sid, 0), data)
        if routed is None:
            return
        kind, target, frame = routed
        if kind == common.PRIVATE:
            await sio.emit("m", frame, to=f"u{target}")
        elif kind == common.GROUP:
            await sio.emit("m", frame, to=f"g{target}", skip_sid=sid)
        else:
            await sio.emit("m", frame, skip_sid=sid)

    app = web.Application()
    sio.attach(app)
    return app


def main() -> None:
    args = common.arguments(__doc__ or "")
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    app = build(common.load(args.fixtures))
    web.run_app(app, host="127.0.0.1", port=args.port, backlog=1024, print=None)


if __name__ == "__main__":
    main()
