"""Image uploads: what a request may send, and storing it without leaving debris.

Decoding, re-encoding and writing the file run in a small thread pool of their own (Pillow
releases the GIL while it decodes), so a large image never stalls the reactor and at most
`threads` images are in memory decoded at once. The file is written before its row is
inserted; when the insert fails the file is removed, so every file has a row and every row a
file. A refused upload writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from socialhub.errors import InvalidRequest, UnsupportedMediaType
from socialhub.media import images, multipart
from socialhub.media.files import MediaFiles
from socialhub.media.images import ImageFormat
from socialhub.reactor import Reactor
from socialhub.run_to_end import run_to_end
from socialhub.storage.stores.media import Media, MediaStore, NewMedia

T = TypeVar("T")
DEFAULT_THREADS = 2
log = Logger(namespace="socialhub.media")


def upload_bytes(body: bytes, content_type: str) -> bytes:
    """The uploaded file: the `file` field of a multipart body, or a raw body declared image/*.

    The declared type only chooses between the two; what the bytes are is decided by
    `images.sniff`. 415 for any other declared type, 400 for an empty upload.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data":
        upload = multipart.file_field(body, content_type)
    elif media_type.startswith("image/"):
        upload = body
    else:
        raise UnsupportedMediaType(
            "send multipart/form-data with a `file` field or an image/* body"
        )
    if not upload:
        raise InvalidRequest("the upload is empty")
    return upload


class MediaUploads:
    """Storing uploads and finding the files to serve."""

    def __init__(
        self, reactor: Reactor, store: MediaStore, files: MediaFiles, threads: int = DEFAULT_THREADS
    ) -> None:
        self._reactor = reactor
        self._store = store
        self._files = files
        self._pool = ThreadPool(minthreads=0, maxthreads=threads, name="media")

    def start(self) -> None:
        """Create the media directory if it is missing, and the threads."""
        self._files.create_directory()
        self._pool.start()

    def stop(self) -> None:
        self._pool.stop()

    async def upload(self, owner_id: int, body: bytes, content_type: str) -> Media:
        """Check, clean and store an upload of `owner_id`.

        It runs to the end even when the client goes away meanwhile: cancelling halfway would
        lose track of a file the thread is still writing.
        """
        return await run_to_end(Deferred.fromCoroutine(self._upload(owner_id, body, content_type)))

    def locate(self, name: str) -> tuple[Path, ImageFormat] | None:
        """The file and format of a served name; None for unknown or malformed names."""
        return self._files.locate(name)

    async def discard(self, names: Sequence[str]) -> None:
        """Remove the files of rows deleted by a committed transaction (a deleted post...)."""
        for name in names:
            await self._forget(name)

    async def _upload(self, owner_id: int, body: bytes, content_type: str) -> Media:
        new = await self._in_thread(self._write, body, content_type)
        try:
            return await self._store.create(owner_id, new, int(self._reactor.seconds()))
        except BaseException:
            await self._forget(new.name)
            raise

    def _write(self, body: bytes, content_type: str) -> NewMedia:
        """In a thread: the upload checked, re-encoded and written under a new name."""
        image = images.clean(upload_bytes(body, content_type))
        name = self._files.write(image.data, image.format)
        return NewMedia(name, image.format.content_type, len(image.data), image.width, image.height)

    async def _forget(self, name: str) -> None:
        try:
            await self._in_thread(self._files.remove, name)
        except Exception:
            log.failure("removing media file {name}", name=name)

    async def _in_thread(self, function: Callable[..., T], *args: object) -> T:
        result: T = await deferToThreadPool(self._reactor, self._pool, function, *args)
        return result
