"""Recognise an image from its bytes, decode it completely, and re-encode it without metadata.

An upload is never stored as sent: its type comes from its first bytes (never from a name or a
declared type), every frame is decoded once (a broken or truncated file is refused), and what
is stored is a fresh encoding in the same format. That drops EXIF (with a phone's GPS
position), XMP and comments; the ICC colour profile is kept, because without it a wide-gamut
photo shows wrong colours, and it says nothing about the person. A profile is kept only when
littleCMS reads it as one: it is the one block of the upload's own bytes that would reach the
stored file as they are (JPEG and WebP store it uncompressed), so bytes that are no profile, an
HTML page or a script, are dropped with the rest. Bytes after the image's end (a polyglot's
payload appended to a valid image) are never read, so never stored.

Decompression bombs: Pillow's own guard only raises above twice `Image.MAX_IMAGE_PIXELS`, so
the pixel count is checked here from each frame's header before its pixels are decoded. The
frames of an animation count together: decoding and re-encoding cost the same for 40
megapixels whether they come as one picture or as many frames.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, GifImagePlugin, Image, ImageCms, ImageSequence

from socialhub.errors import PayloadTooLarge, UnsupportedMediaType

MAX_PIXELS = 40_000_000
QUALITY = 90  # JPEG and WebP: visually lossless for photos, about a third of the size of 100
# What a re-encoded frame keeps of what the decoder found: how to show it, nothing about where
# or by whom it was made.
KEPT_INFO = ("transparency", "duration", "loop", "background", "icc_profile")
# Modes the JPEG encoder writes as they are; anything else (P, RGBA, LA, I;16...) becomes RGB.
JPEG_MODES = frozenset({"1", "L", "RGB", "CMYK"})
# EXIF orientation -> the transposition that shows the picture upright (as ImageOps does).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Keep GIF frames in palette mode while they share the first frame's palette: a quarter of the
# memory of RGBA, and no colour is changed by quantising them again on the way out.
GifImagePlugin.LOADING_STRATEGY = GifImagePlugin.LoadingStrategy.RGB_AFTER_DIFFERENT_PALETTE_ONLY


@dataclass(frozen=True)
class ImageFormat:
    """One accepted format: Pillow's name for it, its media type, the extension of its files."""

    pillow_name: str
    content_type: str
    extension: str
    animated: bool
    save_options: tuple[tuple[str, Any], ...] = ()


JPEG = ImageFormat("JPEG", "image/jpeg", ".jpg", False, (("quality", QUALITY),))
PNG = ImageFormat("PNG", "image/png", ".png", True)
GIF = ImageFormat("GIF", "image/gif", ".gif", True)
WEBP = ImageFormat("WEBP", "image/webp", ".webp", True, (("quality", QUALITY),))
FORMATS = (JPEG, PNG, GIF, WEBP)


@dataclass(frozen=True)
class CleanImage:
    """A re-encoded image, ready to be written to disk."""

    data: bytes
    format: ImageFormat
    width: int
    height: int


def sniff(data: bytes) -> ImageFormat:
    """The format named by the file's magic number; 415 for anything else (SVG, HTML, zip...)."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    raise UnsupportedMediaType("only JPEG, PNG, GIF and WebP images are accepted")


def clean(data: bytes) -> CleanImage:
    """Check and re-encode an upload (blocking: run it in a thread).

    Raises UnsupportedMediaType (415) for anything that is not a complete image of an accepted
    format, PayloadTooLarge (413) for more than MAX_PIXELS.
    """
    image_format = sniff(data)
    frames = _decode(data, image_format)
    try:
        encoded = _encode(frames, image_format)
    except Exception as error:  # e.g. a WebP decoded with sides its own encoder refuses
        raise UnsupportedMediaType("the image cannot be stored in its format") from error
    return CleanImage(encoded, image_format, frames[0].width, frames[0].height)


def _decode(data: bytes, image_format: ImageFormat) -> list[Image.Image]:
    """Every frame, fully decoded, upright, and stripped of metadata."""
    try:
        with Image.open(io.BytesIO(data), formats=[image_format.pillow_name]) as image:
            upright = _UPRIGHT.get(_orientation(image))
            frames = _frames(image) if image_format.animated else _first_frame(image)
            return [_stripped(frame, upright) for frame in frames]
    except PayloadTooLarge:
        raise
    except Image.DecompressionBombError as error:
        raise PayloadTooLarge(f"images are limited to {MAX_PIXELS:,} pixels") from error
    except Exception as error:  # Pillow raises many types for broken files; all mean "no image"
        raise UnsupportedMediaType("the image is damaged or incomplete") from error


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1, upright, when absent); a damaged EXIF block only loses it."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation)
    except Exception:
        return 1
    return value if isinstance(value, int) else 1


def _frames(image: Image.Image) -> Iterator[Image.Image]:
    """Each frame, loaded only after the pixels of all frames so far are known to fit."""
    total = 0
    for frame in ImageSequence.Iterator(image):
        total += frame.width * frame.height
        if total > MAX_PIXELS:
            raise PayloadTooLarge(f"images are limited to {MAX_PIXELS:,} pixels")
        frame.load()
        yield frame


def _first_frame(image: Image.Image) -> Iterator[Image.Image]:
    """The picture of a format that does not animate (a JPEG's extra MPO pictures are dropped)."""
    for frame in _frames(image):
        yield frame
        return


def _stripped(frame: Image.Image, upright: Image.Transpose | None) -> Image.Image:
    """A copy of the frame, turned upright, keeping only the information needed to show it."""
    copy = frame.transpose(upright) if upright is not None else frame.copy()
    copy.info = {key: frame.info[key] for key in KEPT_INFO if key in frame.info}
    if not _is_profile(copy.info.get("icc_profile")):
        copy.info.pop("icc_profile", None)
    return copy


def _is_profile(data: bytes | None) -> bool:
    """Are these bytes an ICC profile littleCMS can read (None, no profile, is not)?"""
    if not data:
        return False
    try:
        ImageCms.ImageCmsProfile(io.BytesIO(data))
    except (OSError, ImageCms.PyCMSError):
        return False
    return True


def _encode(frames: list[Image.Image], image_format: ImageFormat) -> bytes:
    """The frames saved anew in their format, an animation keeping its timing and loop."""
    first = frames[0]
    if image_format is JPEG and first.mode not in JPEG_MODES:
        first = first.convert("RGB")
    options = dict(image_format.save_options)
    if "icc_profile" in first.info:
        options["icc_profile"] = first.info["icc_profile"]
    if len(frames) > 1:
        options["save_all"] = True
        options["append_images"] = frames[1:]
        options["duration"] = [frame.info.get("duration") or 0 for frame in frames]
        if "loop" in first.info:
            options["loop"] = first.info["loop"]
    output = io.BytesIO()
    first.save(output, format=image_format.pillow_name, **options)
    return output.getvalue()
