"""Images end to end: uploads by multipart and raw body, what is stored and served,
every refusal leaving nothing behind, the size and pixel limits, and the store API that posts,
comments and avatars will use."""

from __future__ import annotations

import io
import os
import secrets
from typing import Any

from PIL import Image, ImageSequence
from twisted.trial.unittest import TestCase

from socialhub.storage.database import Transaction
from socialhub.storage.stores.media import (
    COMMENT,
    POST,
    MediaNotClaimable,
    MediaStore,
    attached,
    claim,
    delete_attached,
)
from trial_tests.support.harness import Client, PostgresEngine, Response, SqliteEngine
from trial_tests.support.images import claiming_size, encode, picture
from trial_tests.support.media import FORMATS, MediaTestMixin
from trial_tests.support.raw_http import raw_post

MIB = 1024 * 1024
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
GPS_IFD = 0x8825
ORIENTATION = 0x0112
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SecretXMP</x:xmpmeta>'


def animation(image_format: str) -> bytes:
    """Three frames, red, green and blue, shown 100, 200 and 300 ms, looping forever."""
    frames = [Image.new("RGB", (40, 30), colour) for colour in COLOURS]
    return encode(
        frames[0],
        image_format,
        save_all=True,
        append_images=frames[1:],
        duration=[100, 200, 300],
        loop=0,
    )


def gps_exif(orientation: int = 1) -> bytes:
    """EXIF that says where the photo was taken (GPSInfo) and which way up it is."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    return exif.tobytes()


def multipart(data: bytes, filename: str, part_type: str, field: str = "file") -> tuple[bytes, str]:
    """A form with a text field first, then `data` as `field`: (body, Content-Type)."""
    boundary = secrets.token_hex(12)
    caption = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\nhello\r\n'
    ).encode()
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}";'
        f' filename="{filename}"\r\nContent-Type: {part_type}\r\n\r\n'
    ).encode()
    body = caption + head + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class MediaTests(MediaTestMixin):
    async def post_form(
        self, client: Client, data: bytes, filename: str = "photo.jpg", part_type: str = "image/png"
    ) -> Response:
        body, content_type = multipart(data, filename, part_type)
        return await self.post_raw(client, body, content_type)

    async def test_each_format_by_raw_body(self) -> None:
        """JPEG, PNG, GIF and WebP bodies are stored and served; the type comes from the bytes,
        even when the declared image/* type is another one; the media dir was created."""
        (alice,) = await self.start("alice")
        self.assertTrue(os.path.isdir(self.media_dir))
        for image_format, content_type in FORMATS.items():
            response = await self.post_raw(alice, picture(image_format), "image/png")
            body, _ = await self.uploaded(response, content_type)
            self.assertEqual((body["width"], body["height"]), (64, 48))
        names = await self.stored_names()
        self.assertEqual(sorted(os.listdir(self.media_dir)), sorted(names))
        self.assertEqual(len(names), 4)

    async def test_each_format_by_multipart(self) -> None:
        """A multipart `file` field is found among other fields; its name and declared part type
        do not matter (a PNG named .txt sent as octet-stream is still a PNG)."""
        (alice,) = await self.start("alice")
        for image_format, content_type in FORMATS.items():
            response = await self.post_form(
                alice, picture(image_format), "notes.txt", "application/octet-stream"
            )
            await self.uploaded(response, content_type)

    async def test_animations_keep_their_frames(self) -> None:
        """Animated GIF, WebP and PNG come back with their three frames, colours and timing."""
        (alice,) = await self.start("alice")
        for image_format in ("GIF", "WEBP", "PNG"):
            response = await self.post_raw(alice, animation(image_format), "image/gif")
            _, served = await self.uploaded(response, FORMATS[image_format])
            with Image.open(io.BytesIO(served)) as image:
                self.assertEqual(getattr(image, "n_frames", 1), 3, image_format)
                for frame, colour, duration in zip(
                    ImageSequence.Iterator(image), COLOURS, (100, 200, 300), strict=True
                ):
                    pixel = frame.convert("RGB").getpixel((20, 15))
                    assert isinstance(pixel, tuple)
                    differences = [abs(a - b) for a, b in zip(pixel, colour, strict=True)]
                    self.assertLessEqual(max(differences), 8, (image_format, pixel, colour))
                    self.assertEqual(frame.info["duration"], duration)

    async def test_metadata_is_stripped(self) -> None:
        """EXIF with a GPS position (JPEG, PNG, WebP), XMP (JPEG, WebP) and comments (JPEG, GIF)
        are in the upload and gone from the stored file."""
        (alice,) = await self.start("alice")
        white = Image.new("RGB", (30, 20), "white")
        sent = {
            "JPEG": encode(white, "JPEG", exif=gps_exif(), xmp=XMP, comment=b"SecretComment"),
            "PNG": encode(white, "PNG", exif=gps_exif()),
            "WEBP": encode(white, "WEBP", exif=gps_exif(), xmp=XMP),
            "GIF": encode(white, "GIF", comment=b"SecretComment"),
        }
        for image_format, data in sent.items():
            self.assertIn(b"Secret" if image_format == "GIF" else b"PhoneMaker", data)
            if image_format != "GIF":
                with Image.open(io.BytesIO(data)) as before:
                    self.assertIn(2, before.getexif().get_ifd(GPS_IFD))
            response = await self.post_raw(alice, data, FORMATS[image_format])
            _, served = await self.uploaded(response, FORMATS[image_format])
            with Image.open(io.BytesIO(served)) as after:
                self.assertEqual(dict(after.getexif()), {})
                self.assertEqual(set(after.info) & {"exif", "xmp", "comment"}, set())
            for marker in (b"PhoneMaker", b"Secret"):
                self.assertNotIn(marker, served, image_format)

    async def test_phone_photo_is_turned_upright(self) -> None:
        """A JPEG stored sideways with EXIF orientation 6 (turn 90 degrees clockwise to view) is
        stored upright: width and height swap, and its left half (red) ends up on top."""
        (alice,) = await self.start("alice")
        sideways = Image.new("RGB", (80, 40), (0, 0, 255))
        sideways.paste((255, 0, 0), (0, 0, 40, 40))
        sent = encode(sideways, "JPEG", exif=gps_exif(orientation=6), quality=95)
        body, served = await self.uploaded(
            await self.post_raw(alice, sent, "image/jpeg"), "image/jpeg"
        )
        self.assertEqual((body["width"], body["height"]), (40, 80))
        with Image.open(io.BytesIO(served)) as upright:
            top, bottom = upright.getpixel((20, 10)), upright.getpixel((20, 70))
        assert isinstance(top, tuple) and isinstance(bottom, tuple)
        self.assertGreater(top[0], 200)
        self.assertGreater(bottom[2], 200)

    async def test_refused_uploads_leave_nothing(self) -> None:
        """Anything that is not a whole JPEG, PNG, GIF or WebP is refused (415, or 400 for an
        empty or broken form) and leaves no file and no row."""
        (alice,) = await self.start("alice")
        png = encode(Image.frombytes("RGB", (100, 100), os.urandom(30000)), "PNG")
        svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
        html = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
        zipped = b"PK\x03\x04" + os.urandom(200)
        script = b"#!/bin/sh\nrm -rf /\n"
        form_without_file, form_type = multipart(png, "x.png", "image/png", field="other")
        cases = [
            (svg, "image/svg+xml", 415, "unsupported_media_type"),
            (html, "image/png", 415, "unsupported_media_type"),
            (zipped, "image/png", 415, "unsupported_media_type"),
            (png[: len(png) // 2], "image/png", 415, "unsupported_media_type"),
            (png, "application/octet-stream", 415, "unsupported_media_type"),
            (png, "application/json", 415, "unsupported_media_type"),
            (b"", "image/png", 400, "invalid_request"),
            (form_without_file, form_type, 400, "invalid_request"),
            (png, "multipart/form-data", 400, "invalid_request"),
        ]
        for data, content_type, status, code in cases:
            self.expect_error(await self.post_raw(alice, data, content_type), status, code)
        self.expect_error(
            await self.post_form(alice, script, "x.png"), 415, "unsupported_media_type"
        )
        self.expect_error(await self.post_form(alice, b"", "x.png"), 400, "invalid_request")
        await self.assert_nothing_stored()

    async def test_body_size_limit(self) -> None:
        """A body of exactly 5 MiB is read and checked (a PNG padded to 5 MiB is stored, padding
        dropped by re-encoding); one byte more is 413, declared or counted in a chunked body."""
        (alice,) = await self.start("alice")
        png = picture("PNG")
        padded = png + b"\0" * (5 * MIB - len(png))
        body, _ = await self.uploaded(await self.post_raw(alice, padded, "image/png"), "image/png")
        self.assertLess(body["size"], 10_000)
        declared = await raw_post(self.running, "/api/media", b"", declared_length=5 * MIB + 1)
        chunked = await raw_post(self.running, "/api/media", padded + b"\0", chunked=True)
        for refused in (declared, chunked):
            self.expect_error(refused, 413, "payload_too_large")
        self.assertEqual(len(await self.stored_names()), 1)

    async def test_pixel_limit(self) -> None:
        """40,000,000 pixels are accepted; 40,000,001 (754717 x 53), a header claiming 400
        megapixels, and an animation whose two frames together pass the limit are 413."""
        (alice,) = await self.start("alice")
        exact = encode(Image.new("1", (8000, 5000)), "PNG")
        body, _ = await self.uploaded(await self.post_raw(alice, exact, "image/png"), "image/png")
        self.assertEqual((body["width"], body["height"]), (8000, 5000))
        over = encode(Image.new("1", (754717, 53)), "PNG")
        bomb = claiming_size("PNG", 20000, 20000)
        frames = [Image.new("P", (5000, 4001), colour) for colour in (1, 2)]
        long_animation = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
        for data in (over, bomb, long_animation):
            response = await self.post_raw(alice, data, "image/png")
            self.expect_error(response, 413, "payload_too_large")
        self.assertEqual(len(await self.stored_names()), 1)
        self.assertEqual(len(os.listdir(self.media_dir)), 1)

    async def test_upload_needs_a_session(self) -> None:
        """Without a session the answer is 401, before the body is looked at (not 415)."""
        await self.start()
        anonymous = self.running.client()
        for data, content_type in ((picture("PNG"), "image/png"), (b"text", "text/plain")):
            response = await self.post_raw(anonymous, data, content_type)
            self.expect_error(response, 401, "unauthorized")
        await self.assert_nothing_stored()

    async def test_unknown_and_malformed_names_are_404(self) -> None:
        """Unknown names, names of another shape, traversal attempts (plain or encoded) and the
        directory itself are JSON 404s; a file beside the media dir is never reached."""
        (alice,) = await self.start("alice")
        await self.uploaded(await self.post_raw(alice, picture("PNG"), "image/png"), "image/png")
        secret = os.path.join(os.path.dirname(os.path.abspath(self.media_dir)), "secret.png")
        with open(secret, "wb") as file:
            file.write(b"top secret")
        unknown_but_valid = "/media/" + "A" * 32 + ".png"
        paths = [
            "/media/unknown",
            unknown_but_valid,
            "/media/../etc/passwd",
            "/media/..%2Fsecret.png",
            "/media/..%2F..%2Fetc%2Fpasswd",
            "/media/..",
            "/media/",
            "/media",
        ]
        for path in paths:
            response = await self.running.client().get(path)
            self.expect_error(response, 404, "not_found")
            self.assertNotIn(b"top secret", response.raw)

    async def test_failed_insert_removes_the_file(self) -> None:
        """When the row cannot be inserted the file already written is removed (500)."""
        (alice,) = await self.start("alice")

        async def failing_create(*args: object) -> None:
            raise RuntimeError("insert failed")

        self.patch(MediaStore, "create", failing_create)
        response = await self.post_raw(alice, picture("JPEG"), "image/jpeg")
        self.expect_error(response, 500, "internal_error")
        self.flushLoggedErrors(RuntimeError)
        await self.assert_nothing_stored()

    async def upload_ids(self, client: Client, count: int) -> list[int]:
        ids = []
        for _ in range(count):
            response = await self.post_raw(client, picture("PNG"), "image/png")
            self.assertEqual(response.status, 201, response.raw)
            ids.append(response.json["id"])
        return ids

    async def test_claiming_for_posts_and_comments(self) -> None:
        """The store API for attachments: an owner's unattached uploads are claimed in the given
        order; someone else's, an attached one, repeats or more than 4 roll the whole claim
        back; deleting a post's media returns the file names to remove; an avatar candidate
        is found among the owner's uploads only."""
        alice, bob = await self.start("alice", "bob")
        mine = await self.upload_ids(alice, 5)
        (theirs,) = await self.upload_ids(bob, 1)
        alice_id = (await alice.get("/api/auth/me")).json["id"]
        database = self.running.server.database

        async def run(body: Any) -> Any:
            return await database.interaction("test", body)

        async def claim_for(ids: list[int], column: str, target: int) -> list[int]:
            async def body(txn: Transaction) -> list[int]:
                return [m.id for m in await claim(txn, alice_id, ids, column, target)]

            result: list[int] = await run(body)
            return result

        self.assertEqual(await claim_for([mine[1], mine[0]], POST, 7), [mine[1], mine[0]])
        self.assertEqual(await claim_for([mine[2]], COMMENT, 9), [mine[2]])
        for ids in ([mine[3], theirs], [mine[3], mine[0]], [mine[3], mine[3]], [*mine[:4], 9]):
            with self.assertRaises(MediaNotClaimable):
                await claim_for(ids, POST, 8)

        async def of_post(txn: Transaction) -> dict[int, list[int]]:
            found = await attached(txn, POST, [7, 8])
            return {post: [m.id for m in media] for post, media in found.items()}

        self.assertEqual(await run(of_post), {7: [mine[1], mine[0]]})
        self.assertEqual(await claim_for([mine[3]], POST, 8), [mine[3]])  # was rolled back
        names = await run(lambda txn: delete_attached(txn, POST, [7]))
        self.assertEqual(len(names), 2)
        self.assertEqual(await run(of_post), {8: [mine[3]]})
        await self.running.server.handlers.media.discard(names)
        self.assertEqual(len(os.listdir(self.media_dir)), 4)
        store = MediaStore(database)
        owned = await store.get_owned(alice_id, mine[4])
        self.assertEqual((owned.id, owned.owner_id) if owned else None, (mine[4], alice_id))
        self.assertIsNone(await store.get_owned(alice_id, theirs))


class MediaSqliteTests(SqliteEngine, MediaTests, TestCase):
    pass


class MediaPostgresTests(PostgresEngine, MediaTests, TestCase):
    pass
