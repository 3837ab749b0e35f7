"""Hostile images through the upload route: decompression bombs, polyglots (an image that is
also an HTML page) and truncated files, and what is served back, which only an image viewer
may read."""

from __future__ import annotations

import io
import struct

from PIL import Image, ImageCms, PngImagePlugin
from twisted.trial.unittest import TestCase

from trial_tests.support.harness import PostgresEngine, SqliteEngine
from trial_tests.support.images import claiming_size, encode, picture
from trial_tests.support.media import FORMATS, MediaTestMixin

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
# Where each format's stored file must end: nothing may follow the image.
ENDS = {
    "PNG": lambda data: data.endswith(b"IEND\xaeB`\x82"),
    "GIF": lambda data: data.endswith(b";"),
    "JPEG": lambda data: data.endswith(b"\xff\xd9"),
    "WEBP": lambda data: struct.unpack("<I", data[4:8])[0] + 8 == len(data),
}


def polyglots() -> list[tuple[str, bytes]]:
    """Valid images carrying HTML in every place a format has for foreign bytes: after the
    end, in comments, text chunks, XMP, and as the colour profile."""
    small = Image.new("RGB", (24, 16), (20, 140, 60))
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", HTML.decode())
    return [
        ("PNG", picture("PNG") + HTML),
        ("PNG", encode(small, "PNG", pnginfo=text, icc_profile=HTML)),
        ("GIF", encode(small, "GIF", comment=HTML) + HTML),
        ("JPEG", encode(small, "JPEG", comment=HTML, xmp=HTML, icc_profile=HTML) + HTML),
        ("WEBP", encode(small, "WEBP", xmp=HTML, icc_profile=HTML) + HTML),
    ]


def noise(image_format: str, frames: int = 1) -> bytes:
    """Random pixels (which no encoder shrinks much), in one frame or as an animation."""
    images = [Image.effect_noise((120, 90), 80).convert("RGB") for _ in range(frames)]
    if frames == 1:
        return encode(images[0], image_format)
    return encode(images[0], image_format, save_all=True, append_images=images[1:], loop=0)


class HostileImageTests(MediaTestMixin):
    async def test_decompression_bombs(self) -> None:
        """A file of a few hundred bytes whose header claims 256 megapixels, or just over the
        limit (8000 x 5001), is 413 in every format, before a pixel is decoded."""
        (alice,) = await self.start("alice")
        for image_format in FORMATS:
            for width, height in ((16000, 16000), (8000, 5001)):
                bomb = claiming_size(image_format, width, height)
                self.assertLess(len(bomb), 1000)
                response = await self.post_raw(alice, bomb, "image/png")
                self.expect_error(response, 413, "payload_too_large")
        await self.assert_nothing_stored()

    async def test_polyglots_are_stored_without_their_payload(self) -> None:
        """An image that is also a page is stored as the image alone: no HTML in the served
        bytes, nothing after the format's end, served as an image the browser must not sniff,
        and sandboxed should it ever be opened as a document."""
        (alice,) = await self.start("alice")
        for image_format, data in polyglots():
            self.assertIn(HTML, data)
            response = await self.post_raw(alice, data, FORMATS[image_format])
            _, served = await self.uploaded(response, FORMATS[image_format])
            for marker in (b"<html", b"<script", b"alert("):
                self.assertNotIn(marker, served.lower(), image_format)
            self.assertTrue(ENDS[image_format](served), image_format)

    async def test_only_a_real_colour_profile_is_kept(self) -> None:
        """A colour profile littleCMS reads is stored as it came; bytes that are no profile are
        dropped, so they cannot carry a payload into the stored file."""
        (alice,) = await self.start("alice")
        srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
        small = Image.new("RGB", (24, 16), (200, 30, 30))
        for image_format in ("JPEG", "PNG", "WEBP"):
            for profile, kept in ((srgb, srgb), (HTML, None)):
                data = encode(small, image_format, icc_profile=profile)
                response = await self.post_raw(alice, data, FORMATS[image_format])
                _, served = await self.uploaded(response, FORMATS[image_format])
                with Image.open(io.BytesIO(served)) as image:
                    self.assertEqual(image.info.get("icc_profile"), kept, image_format)

    async def test_truncated_files_are_refused(self) -> None:
        """Half or nine tenths of an image, still or animated, is 415 and leaves nothing."""
        (alice,) = await self.start("alice")
        whole = [noise(image_format) for image_format in FORMATS]
        whole += [noise(image_format, frames=3) for image_format in ("GIF", "PNG", "WEBP")]
        for data in whole:
            for kept in (len(data) // 2, len(data) * 9 // 10):
                response = await self.post_raw(alice, data[:kept], "image/png")
                self.expect_error(response, 415, "unsupported_media_type")
        await self.assert_nothing_stored()


class HostileImageSqliteTests(SqliteEngine, HostileImageTests, TestCase):
    pass


class HostileImagePostgresTests(PostgresEngine, HostileImageTests, TestCase):
    pass
