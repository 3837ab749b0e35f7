"""The bare Autobahn relay: the limit of socialhub's own framework, and the baseline (1.00).

It looks the recipient up and forwards the frame: nothing stored, no acks, no checks beyond
the token. A group frame is sent to each member separately (no prepared message), as a
straightforward relay would. TCP_NODELAY is set by hand (Autobahn 26.10 leaves Nagle on).
"""

from __future__ import annotations

from typing import Any

import orjson
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket import USES_NVX
from autobahn.websocket.types import ConnectionDeny, ConnectionRequest
from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ServerEndpoint

from bench.peers import common


class Relay(WebSocketServerProtocol):
    factory: RelayFactory
    user_id = 0

    def connectionMade(self) -> None:
        super().connectionMade()
        transport: Any = self.transport
        transport.setTcpNoDelay(True)

    def onConnect(self, request: ConnectionRequest) -> None:
        params = request.params.get("token") or [""]
        user_id = self.factory.fixtures.tokens.get(params[0])
        if user_id is None:
            raise ConnectionDeny(401, "Unauthorized")
        self.user_id = user_id

    def onOpen(self) -> None:
        self.factory.online.setdefault(self.user_id, set()).add(self)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        connections = self.factory.online.get(self.user_id)
        if connections is not None:
            connections.discard(self)
            if not connections:
                del self.factory.online[self.user_id]

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        routed = common.route(self.user_id, orjson.loads(payload))
        if routed is None:
            return
        kind, target, frame = routed
        out = orjson.dumps(frame)
        online = self.factory.online
        if kind == common.PRIVATE:
            recipients = [target]
        elif kind == common.GROUP:
            recipients = self.factory.fixtures.groups.get(target, [])
        else:
            recipients = list(online)
        for user_id in recipients:
            for connection in online.get(user_id, ()):
                if connection is not self:
                    connection.sendMessage(out)


class RelayFactory(WebSocketServerFactory):
    protocol = Relay  # type: ignore[assignment]

    def __init__(self, fixtures: common.Fixtures) -> None:
        super().__init__()
        self.fixtures = fixtures
        self.online: dict[int, set[Relay]] = {}
        self.setProtocolOptions(autoPingInterval=0, maxMessagePayloadSize=65536)


def main() -> None:
    args = common.arguments(__doc__ or "")
    print(f"autobahn relay on {args.port}, NVX: {USES_NVX}", flush=True)
    factory = RelayFactory(common.load(args.fixtures))
    TCP4ServerEndpoint(reactor, args.port, backlog=1024, interface="127.0.0.1").listen(factory)
    reactor.run()


if __name__ == "__main__":
    main()
