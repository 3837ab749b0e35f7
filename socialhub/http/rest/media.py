"""Image routes: uploading an image, and serving the stored files.

Route function names are unique across the whole Api: Klein keys its endpoints by them.
"""

from __future__ import annotations

from pathlib import Path

from twisted.web.static import File

from socialhub.errors import NotFound
from socialhub.handlers.media import MediaUploads
from socialhub.http.api import Api, Call, Reply
from socialhub.media.images import ImageFormat
from socialhub.storage.stores.media import Media

# A stored file never changes (a new upload gets a new name), so caches may keep it for a year.
IMMUTABLE = "public, max-age=31536000, immutable"
# A stored file is an image and nothing else: should a browser ever take it for a document, it
# may load nothing and run nothing, and lands in a unique origin without the site's cookies.
SANDBOX = "default-src 'none'; sandbox"


def media_object(media: Media) -> dict[str, object]:
    """The answer to an upload."""
    return {"id": media.id, **media_summary(media), "size": media.size}


def media_summary(media: Media) -> dict[str, object]:
    """An image as posts and comments list it (`"media": [...]`)."""
    return {
        "url": media.url,
        "content_type": media.content_type,
        "width": media.width,
        "height": media.height,
    }


def _file(path: Path, image_format: ImageFormat) -> File:
    """The file as a streamed resource of its format's type (never guessed from the system)."""
    resource = File(str(path))
    resource.type = image_format.content_type
    resource.encoding = None
    return resource


def register_routes(api: Api, uploads: MediaUploads) -> None:
    @api.route("/api/media", "POST", raw_body=True, ok=201)
    async def upload_media(call: Call) -> Reply:
        media = await uploads.upload(call.user_viewer.user.id, call.raw_body, call.content_type)
        return Reply(body=media_object(media), status=201)

    @api.route("/media/<name>", "GET", auth=False)
    async def serve_media(call: Call) -> Reply:
        found = uploads.locate(call.path["name"])
        if found is None:
            raise NotFound("no such image")
        return Reply(
            body=_file(*found),
            headers={"cache-control": IMMUTABLE, "content-security-policy": SANDBOX},
        )
