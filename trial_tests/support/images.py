"""Images made on the spot, for uploads, and small ones whose header lies about their size."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

from PIL import Image


def encode(image: Image.Image, image_format: str, **options: Any) -> bytes:
    output = io.BytesIO()
    image.save(output, format=image_format, **options)
    return output.getvalue()


def picture(image_format: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small still image of a format: an orange field."""
    return encode(Image.new("RGB", size, (250, 120, 10)), image_format)


def claiming_size(image_format: str, width: int, height: int) -> bytes:
    """A small picture whose header claims `width` x `height`: a decompression bomb costs only
    its header, whatever the pixels would take once decoded."""
    return _CLAIMS[image_format](picture(image_format), width, height)


def _png_claiming(png: bytes, width: int, height: int) -> bytes:
    """The IHDR chunk rewritten, its CRC fixed."""
    ihdr = b"IHDR" + struct.pack(">II", width, height) + png[24:29]
    return png[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + png[33:]


def _gif_claiming(gif: bytes, width: int, height: int) -> bytes:
    """The logical screen and the first image descriptor (after the global palette) rewritten."""
    size = struct.pack("<HH", width, height)
    descriptor = 13 + 3 * 2 ** ((gif[10] & 7) + 1)
    assert gif[descriptor] == 0x2C, "picture() writes no extension before its image"
    return gif[:6] + size + gif[10 : descriptor + 5] + size + gif[descriptor + 9 :]


def _jpeg_claiming(jpeg: bytes, width: int, height: int) -> bytes:
    """The baseline frame header (SOF0) rewritten: height, then width."""
    start = jpeg.index(b"\xff\xc0") + 5
    return jpeg[:start] + struct.pack(">HH", height, width) + jpeg[start + 4 :]


def _webp_claiming(webp: bytes, width: int, height: int) -> bytes:
    """A lossy (VP8) frame's 14-bit width and height rewritten."""
    assert webp[12:16] == b"VP8 ", "picture() writes a simple lossy WebP"
    return webp[:26] + struct.pack("<HH", width, height) + webp[30:]


_CLAIMS: dict[str, Callable[[bytes, int, int], bytes]] = {
    "PNG": _png_claiming,
    "GIF": _gif_claiming,
    "JPEG": _jpeg_claiming,
    "WEBP": _webp_claiming,
}
