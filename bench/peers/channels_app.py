"""Django Channels on Daphne: `daphne bench.peers.channels_app:application`.

Channels' own way: each connection joins a channel-layer group per user (`u<id>`), per chat
group (`g<id>`) and `everyone`; a frame is a `group_send` to the recipient's group. The layer is
in memory, or Redis when BENCH_CHANNEL_LAYER holds a redis:// URL. Fixtures come from
BENCH_FIXTURES (Daphne passes no arguments to the application).
"""

from __future__ import annotations

import os
from typing import Any

import django
import orjson
from django.conf import settings

from bench.peers import common

_layer: dict[str, Any] = {
    "BACKEND": "channels.layers.InMemoryChannelLayer",
    # The default capacity (100) silently drops group sends to a busy channel.
    "CONFIG": {"capacity": 100_000, "expiry": 60},
}
if os.environ.get("BENCH_CHANNEL_LAYER"):
    _layer = {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [os.environ["BENCH_CHANNEL_LAYER"]], "capacity": 100_000},
    }
settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    INSTALLED_APPS=["channels"],
    CHANNEL_LAYERS={"default": _layer},
)
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402 - after setup()
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

FIXTURES = common.load()
EVERYONE = "everyone"


class RelayConsumer(AsyncWebsocketConsumer):
    user_id = 0
    groups_joined: list[str]

    async def connect(self) -> None:
        user_id = common.user_of(FIXTURES, self.scope["query_string"].decode())
        if user_id is None:
            await self.close(code=4401)
            return
        self.user_id = user_id
        self.groups_joined = [f"u{user_id}", EVERYONE]
        self.groups_joined += [f"g{g}" for g in FIXTURES.groups_of.get(user_id, [])]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        routed = common.route(self.user_id, orjson.loads(text_data or "null"))
        if routed is None:
            return
        kind, target, frame = routed
        group = {common.PRIVATE: f"u{target}", common.GROUP: f"g{target}"}.get(kind, EVERYONE)
        event = {"type": "relay", "text": orjson.dumps(frame).decode(), "skip": self.channel_name}
        await self.channel_layer.group_send(group, event)

    async def relay(self, event: dict[str, Any]) -> None:
        if event["skip"] != self.channel_name:
            await self.send(text_data=event["text"])


application = ProtocolTypeRouter({"websocket": URLRouter([path("ws", RelayConsumer.as_asgi())])})
