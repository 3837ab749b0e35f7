"""The media directory: random file names, atomic writes, and looking a served name up.

A file's name is its only secret: 24 random bytes (32 URL-safe characters) and the extension
of its format. Only names of exactly that shape are ever turned into paths, so no request can
reach outside the directory (no `..`, no slashes) or a temporary file. A file is written under
a temporary name in the same directory and renamed once complete, so a served name always
holds a whole image.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path

from socialhub.media.images import FORMATS, ImageFormat

NAME_BYTES = 24
BY_EXTENSION = {image_format.extension: image_format for image_format in FORMATS}
# token_urlsafe(24) gives exactly 32 characters of the URL-safe base64 alphabet.
_EXTENSIONS = "|".join(map(re.escape, BY_EXTENSION))
NAME = re.compile(rf"[A-Za-z0-9_-]{{32}}(?:{_EXTENSIONS})")
TEMPORARY_PREFIX = ".upload-"
# Images are public to whoever has the URL, so a proxy in front may serve the files itself.
FILE_MODE = 0o644


class MediaFiles:
    """Image files in one directory (blocking methods: call them from a thread)."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory).absolute()

    def create_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    def write(self, data: bytes, image_format: ImageFormat) -> str:
        """Store `data` durably under a new random name, returned; nothing is left on failure."""
        name = secrets.token_urlsafe(NAME_BYTES) + image_format.extension
        final = self.directory / name
        descriptor, temporary = tempfile.mkstemp(dir=self.directory, prefix=TEMPORARY_PREFIX)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fchmod(file.fileno(), FILE_MODE)
                os.fsync(file.fileno())
            os.replace(temporary, final)
            self._sync_directory()
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            final.unlink(missing_ok=True)
            raise
        return name

    def remove(self, name: str) -> None:
        path = self.path_of(name)
        if path is not None:
            path.unlink(missing_ok=True)

    def path_of(self, name: str) -> Path | None:
        """The path of a name this class could have made, else None (whether or not it exists)."""
        return self.directory / name if NAME.fullmatch(name) else None

    def locate(self, name: str) -> tuple[Path, ImageFormat] | None:
        """The existing file of a served name and its format, or None."""
        path = self.path_of(name)
        if path is None or not path.is_file():
            return None
        return path, BY_EXTENSION[path.suffix]

    def _sync_directory(self) -> None:
        """Make the rename itself durable, as a committed row is (SQLite synchronous=FULL)."""
        descriptor = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
