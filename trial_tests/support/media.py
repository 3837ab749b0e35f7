"""Uploading images to a real server and checking what it stores and serves: the mixin the
media test modules share."""

from __future__ import annotations

import io
import os
from typing import Any

from PIL import Image

from socialhub.storage.database import Transaction
from trial_tests.support.harness import Client, Response, RunningServer, start_server
from trial_tests.support.mixins import EngineTestMixin

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
NAME_PATTERN = r"^/media/[A-Za-z0-9_-]{32}\.(jpg|png|gif|webp)$"


def header(response: Response, name: str) -> str | None:
    values = response.headers.getRawHeaders(name.encode())
    return values[0].decode() if values else None


class MediaTestMixin(EngineTestMixin):
    media_dir: str
    running: RunningServer

    async def start(self, *names: str) -> list[Client]:
        """A server on this engine with a fresh media directory, and a logged-in client each."""
        self.media_dir = self.mktemp()
        self.running = await start_server(self, self.engine, media_dir=self.media_dir)
        clients = []
        for name in names:
            client = self.running.client()
            await client.register(name)
            clients.append(client)
        return clients

    async def post_raw(self, client: Client, data: bytes, content_type: str) -> Response:
        return await client.post("/api/media", data=data, headers={"Content-Type": content_type})

    def expect_error(self, response: Response, status: int, code: str) -> None:
        self.assertEqual(response.status, status, response.raw)
        self.assertEqual(response.json["error"], code)

    async def uploaded(self, response: Response, content_type: str) -> tuple[dict[str, Any], bytes]:
        """Check a 201 upload and the file served at its URL; (upload body, served bytes)."""
        self.assertEqual(response.status, 201, response.raw)
        body = response.json
        self.assertEqual(set(body), {"id", "url", "content_type", "size", "width", "height"})
        self.assertRegex(body["url"], NAME_PATTERN)
        self.assertEqual(body["content_type"], content_type)
        served = await self.running.client().get(body["url"])  # no session needed
        self.assertEqual(served.status, 200)
        self.assertEqual(header(served, "content-type"), content_type)
        self.assertEqual(header(served, "x-content-type-options"), "nosniff")
        self.assertEqual(header(served, "content-security-policy"), "default-src 'none'; sandbox")
        self.assertEqual(header(served, "cache-control"), "public, max-age=31536000, immutable")
        self.assertEqual(len(served.raw), body["size"])
        with Image.open(io.BytesIO(served.raw)) as image:
            image.load()
            self.assertEqual(image.size, (body["width"], body["height"]))
            self.assertEqual(Image.MIME[image.format or ""], content_type)
        return body, served.raw

    async def stored_names(self) -> list[str]:
        async def select(txn: Transaction) -> list[str]:
            return [row[0] for row in await txn.fetch("SELECT name FROM media ORDER BY id")]

        names: list[str] = await self.running.server.database.interaction("names", select)
        return names

    async def assert_nothing_stored(self) -> None:
        """No file at all in the media directory (temporary ones included), and no row."""
        self.assertEqual(os.listdir(self.media_dir), [])
        self.assertEqual(await self.stored_names(), [])
