"""The web client: the files of socialhub/web/, served as they are (docs/web.md).

The files are read once at start. Their content hash is the version: the page names every
other file under `/static/<version>/`, so a static file can be cached for a year and an upgrade
changes every URL, while the page itself is revalidated on each load (`no-cache` with an ETag).
A request for any other version is a 404, never an old file mixed into a new app.

The page answers every client-side route (`/chat/u/7`, `/settings`, ...), so a reload or a
shared link lands on the same view; every other path keeps its meaning. Every answer here
carries the client's security headers, and is gzipped when the browser accepts it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.web.resource import EncodingResourceWrapper, IResource, Resource
from twisted.web.server import NOT_DONE_YET, GzipEncoderFactory

from socialhub.auth.tokens import COOKIE_NAME, HINT_COOKIE_NAME
from socialhub.errors import MethodNotAllowed, NotFound
from socialhub.handlers.accounts import Accounts
from socialhub.http.api import write_error
from socialhub.storage.database import DatabaseUnavailable

log = Logger(namespace="socialhub.http")

PACKAGE_DIRECTORY = Path(__file__).resolve().parent.parent / "web"
VERSION_PLACEHOLDER = b"/static/<version>/"

SECURITY_HEADERS = {
    b"content-security-policy": (
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        b"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        b"form-action 'self'; require-trusted-types-for 'script'; trusted-types 'none'"
    ),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"cross-origin-opener-policy": b"same-origin",
}
PAGE_CACHE = b"no-cache"
STATIC_CACHE = b"public, max-age=31536000, immutable"

CONTENT_TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".json": b"application/json",
    ".webmanifest": b"application/manifest+json",
    ".svg": b"image/svg+xml",
    ".png": b"image/png",
    ".ico": b"image/x-icon",
    ".txt": b"text/plain; charset=utf-8",
}

# The client's routes, segment by segment; "*" is any one non-empty segment (an id, a name).
APP_ROUTES: tuple[tuple[str, ...], ...] = (
    ("",),
    ("login",),
    ("signup",),
    ("reset-password",),
    ("verify-email",),
    ("chat",),
    ("chat", "u", "*"),
    ("chat", "g", "*"),
    ("u", "*"),
    ("g",),
    ("g", "*"),
    ("posts", "*"),
    ("notifications",),
    ("settings",),
)
_FIRST_SEGMENTS = frozenset(route[0] for route in APP_ROUTES)


@dataclass(frozen=True)
class WebFile:
    """One file as served: its bytes, type, and the validators a browser revalidates with."""

    body: bytes
    content_type: bytes
    etag: bytes
    last_modified: int  # seconds since the epoch

    @classmethod
    def of(cls, body: bytes, name: str, last_modified: float) -> WebFile:
        content_type = CONTENT_TYPES.get(Path(name).suffix, b"application/octet-stream")
        # Weak: the gzipped and the plain body are the same file to the browser.
        etag = b'W/"' + hashlib.sha256(body).hexdigest()[:20].encode() + b'"'
        return cls(body, content_type, etag, int(last_modified))


@dataclass(frozen=True)
class WebClient:
    """The page, with its version filled in, and the static files by their relative path."""

    version: str
    page: WebFile
    files: Mapping[str, WebFile]

    @classmethod
    def load(cls, directory: Path) -> WebClient | None:
        """The client in `directory` (blocking reads, once at start); None without index.html."""
        paths = sorted(
            path
            for path in directory.rglob("*")
            if path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(directory).parts)
        )
        if directory / "index.html" not in paths:
            log.warn("no web client in {directory}: / is not served", directory=directory)
            return None
        contents = {path.relative_to(directory).as_posix(): path.read_bytes() for path in paths}
        mtimes = {path.relative_to(directory).as_posix(): path.stat().st_mtime for path in paths}
        version = _version(contents)
        page = contents["index.html"].replace(VERSION_PLACEHOLDER, f"/static/{version}/".encode())
        files = {name: WebFile.of(body, name, mtimes[name]) for name, body in contents.items()}
        return cls(version, WebFile.of(page, "index.html", max(mtimes.values())), files)


def _version(contents: Mapping[str, bytes]) -> str:
    """A hash of every file's name and bytes: any change to the client is a new version."""
    digest = hashlib.sha256()
    for name, body in sorted(contents.items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
    return digest.hexdigest()[:16]


def is_app_route(segments: Sequence[bytes]) -> bool:
    """Whether a path (its segments after the first /) is one of the client's routes.

    Asked of every request but /ws, so an /api path is turned away by its first segment."""
    if segments[0].decode("latin-1") not in _FIRST_SEGMENTS:
        return False
    return any(
        len(route) == len(segments)
        and all(
            part == segment.decode("latin-1") or (part == "*" and segment)
            for part, segment in zip(route, segments, strict=True)
        )
        for route in APP_ROUTES
    )


class _WebResource(Resource):
    """GET and HEAD only; every answer, errors included, with the security headers."""

    isLeaf = True

    def __init__(self, client: WebClient) -> None:
        super().__init__()
        self.client = client

    def render(self, request: Any) -> bytes | int:
        return self.answer(request)

    def answer(self, request: Any) -> bytes:
        for name, value in SECURITY_HEADERS.items():
            request.setHeader(name, value)
        if request.method not in (b"GET", b"HEAD"):
            request.setHeader(b"allow", b"GET, HEAD")
            return write_error(request, MethodNotAllowed("the web client is only read"))
        found = self.find(request)
        if found is None:
            return write_error(request, NotFound("no such file"))
        file, cache_control = found
        return _serve(request, file, cache_control)

    def find(self, request: Any) -> tuple[WebFile, bytes] | None:
        raise NotImplementedError


class _Page(_WebResource):
    """The page, with the signed-in hint made true for this session before it is sent: the
    page starts its socket at once on the hint, and a socket refused for a dead session would
    be a console error and a retry loop."""

    def __init__(self, client: WebClient, accounts: Accounts) -> None:
        super().__init__(client)
        self.accounts = accounts

    def render(self, request: Any) -> bytes | int:
        token = request.getCookie(COOKIE_NAME.encode())
        if request.method not in (b"GET", b"HEAD") or not token:
            return self.answer(request)
        checked = Deferred.fromCoroutine(self._hint(request, token.decode("latin-1")))
        checked.addCallback(lambda _: self._send(request))
        return NOT_DONE_YET

    async def _hint(self, request: Any, token: str) -> None:
        """The hint set for a live session whose page lacks it (the hint cookie was lost or
        deleted) and cleared for a dead one. Without the database the hint stays as it is: the
        page asks who is signed in, and a 401 there clears it."""
        try:
            alive = await self.accounts.authenticate(token) is not None
        except DatabaseUnavailable:
            return
        except Exception:
            log.failure("checking the session of a page request")
            return
        hint = request.getCookie(HINT_COOKIE_NAME.encode())
        if alive and hint != b"1":
            request.addCookie(HINT_COOKIE_NAME.encode(), b"1", path=b"/", sameSite="lax")
        elif not alive and hint is not None:
            request.addCookie(
                HINT_COOKIE_NAME.encode(), b"", max_age=b"0", path=b"/", sameSite="lax"
            )

    def _send(self, request: Any) -> None:
        if request.finished or request.channel is None:  # the browser went away meanwhile
            return
        request.write(self.answer(request))
        request.finish()

    def find(self, request: Any) -> tuple[WebFile, bytes] | None:
        return self.client.page, PAGE_CACHE


class _Static(_WebResource):
    """`/static/<version>/<path>`: this version's files only."""

    def find(self, request: Any) -> tuple[WebFile, bytes] | None:
        version, *path = [segment.decode("latin-1") for segment in request.postpath] or [""]
        file = self.client.files.get("/".join(path))
        if version != self.client.version or file is None or path == ["index.html"]:
            return None
        return file, STATIC_CACHE


def _serve(request: Any, file: WebFile, cache_control: bytes) -> bytes:
    request.setHeader(b"content-type", file.content_type)
    request.setHeader(b"cache-control", cache_control)
    request.setHeader(b"vary", b"accept-encoding")
    request.setHeader(b"etag", file.etag)
    request.setHeader(b"last-modified", formatdate(file.last_modified, usegmt=True).encode())
    if _not_modified(request, file):
        request.setResponseCode(304)
        return b""
    return file.body


def _not_modified(request: Any, file: WebFile) -> bool:
    """The conditional GET of RFC 9110: If-None-Match decides when present (weak comparison),
    else If-Modified-Since."""
    if_none_match = request.getHeader(b"if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix(b"W/") for tag in if_none_match.split(b",")}
        return b"*" in tags or file.etag.removeprefix(b"W/") in tags
    if_modified_since = request.getHeader(b"if-modified-since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since.decode("latin-1")).timestamp()
    except (TypeError, ValueError):
        return False
    return file.last_modified <= since


@dataclass(frozen=True)
class WebResources:
    """What the Root serves: the page (for every client route) and `/static/`."""

    page: IResource
    static: IResource

    @classmethod
    def of(cls, client: WebClient, accounts: Accounts) -> WebResources:
        gzip = [GzipEncoderFactory()]
        return cls(
            EncodingResourceWrapper(_Page(client, accounts), gzip),
            EncodingResourceWrapper(_Static(client), gzip),
        )


def web_resources(directory: str | None, accounts: Accounts) -> WebResources | None:
    """The client in `directory` (None: the one installed with socialhub), ready to serve;
    `accounts` tells the page whether its session is alive."""
    client = WebClient.load(Path(directory) if directory else PACKAGE_DIRECTORY)
    return None if client is None else WebResources.of(client, accounts)
