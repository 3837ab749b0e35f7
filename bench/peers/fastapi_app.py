"""FastAPI (Starlette) on uvicorn with uvloop and httptools: a dict of open sockets by user.

Each connection's task reads its frames and writes the copies itself, one `send_text` after
another, which is how a FastAPI chat is usually written.
"""

from __future__ import annotations

import orjson
import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from bench.peers import common


def build(fixtures: common.Fixtures) -> FastAPI:
    app = FastAPI()
    online: dict[int, set[WebSocket]] = {}

    @app.websocket("/ws")
    async def relay(websocket: WebSocket) -> None:
        user_id = common.user_of(fixtures, websocket.scope["query_string"].decode())
        if user_id is None:
            await websocket.close(code=4401)
            return
        await websocket.accept()
        online.setdefault(user_id, set()).add(websocket)
        try:
            while True:
                routed = common.route(user_id, orjson.loads(await websocket.receive_text()))
                if routed is None:
                    continue
                kind, target, frame = routed
                out = orjson.dumps(frame).decode()
                if kind == common.PRIVATE:
                    recipients = [target]
                elif kind == common.GROUP:
                    recipients = fixtures.groups.get(target, [])
                else:
                    recipients = list(online)
                for recipient in recipients:
                    for connection in list(online.get(recipient, ())):
                        if connection is not websocket:
                            await connection.send_text(out)
        except WebSocketDisconnect:
            pass
        finally:
            connections = online.get(user_id, set())
            connections.discard(websocket)
            if not connections:
                online.pop(user_id, None)

    return app


def main() -> None:
    args = common.arguments(__doc__ or "")
    app = build(common.load(args.fixtures))
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        backlog=1024,
        ws_ping_interval=None,
    )


if __name__ == "__main__":
    main()
