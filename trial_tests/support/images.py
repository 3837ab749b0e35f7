"""Images made on the spot, for uploads."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image


def encode(image: Image.Image, image_format: str, **options: Any) -> bytes:
    output = io.BytesIO()
    image.save(output, format=image_format, **options)
    return output.getvalue()


def picture(image_format: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small still image of a format: an orange field."""
    return encode(Image.new("RGB", size, (250, 120, 10)), image_format)
