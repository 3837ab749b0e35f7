"""The web client's server side over real HTTP: the page on every client route, the versioned
static files, gzip, revalidation, the cache policy and the security headers.

The server serves a fixture client of the test's own (`--web-dir`), so these tests do not
depend on the real client's files. The files never touch the database: SQLite only, but for
the page's check of its session, on both engines.
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers

from socialhub.http.web import SECURITY_HEADERS, WebClient
from trial_tests.support.chat import register
from trial_tests.support.harness import PostgresEngine, Response, RunningServer, start_server
from trial_tests.support.raw_http import raw_get

PAGE = (
    b"<!doctype html><title>fixture</title>"
    b'<link rel="stylesheet" href="/static/<version>/app.css">'
    b'<script type="module" src="/static/<version>/js/main.js"></script>'
)
FILES = {
    "index.html": PAGE,
    "app.css": b"body { color: #111; }\n" * 40,
    "js/main.js": b'import { render } from "./views/feed.js";\nrender();\n' * 20,
    "js/views/feed.js": b"export function render() {}\n",
    "icon.png": b"\x89PNG\r\n\x1a\n",
    ".editorconfig": b"root = true\n",
}
CLIENT_ROUTES = [
    "/",
    "/login",
    "/signup",
    "/reset-password",
    "/verify-email",
    "/chat",
    "/chat/u/1",
    "/chat/g/2",
    "/u/ann",
    "/g",
    "/g/3",
    "/posts/4",
    "/notifications",
    "/settings",
]
GZIP = {"Accept-Encoding": "gzip"}


def write_client(directory: str, files: dict[str, bytes] = FILES) -> str:
    for name, body in files.items():
        path = Path(directory, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return directory


def header(response: Response, name: str) -> str | None:
    values = response.headers.getRawHeaders(name.encode())
    return None if values is None else ",".join(value.decode() for value in values)


class WebCase(TestCase):
    running: RunningServer
    version: str
    engine = "sqlite"

    def setUp(self) -> Deferred[None]:  # type: ignore[override]  # trial waits on it
        return Deferred.fromCoroutine(self.start())

    async def start(self) -> None:
        directory = write_client(self.mktemp())
        self.running = await start_server(self, self.engine, web_dir=directory)
        page = (await self.get("/")).raw.decode()
        match = re.search(r"/static/([0-9a-f]{16})/app\.css", page)
        assert match is not None, page
        self.version = match.group(1)

    async def get(self, path: str, method: str = "GET", **headers: str) -> Response:
        """One request as a plain agent sends it: treq would ask for gzip and decode it."""
        agent = Agent(reactor, pool=HTTPConnectionPool(reactor, persistent=False))
        raw_headers = Headers({name: [value] for name, value in headers.items()})
        url = (self.running.url + path).encode()
        response = await agent.request(method.encode(), url, raw_headers)
        return Response(response.code, response.headers, await readBody(response))

    def assertSecure(self, response: Response) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.assertEqual(header(response, name.decode()), value.decode(), name)

    def assertJsonError(self, response: Response, status: int, code: str) -> None:
        self.assertEqual(response.status, status, response.raw)
        self.assertEqual(header(response, "content-type"), "application/json")
        self.assertEqual(response.json["error"], code)


class PageTests(WebCase):
    async def test_every_client_route_is_the_page(self) -> None:
        """A reload or a shared link of any client route gets the page, version filled in."""
        for path in CLIENT_ROUTES:
            response = await self.get(path)
            self.assertEqual(response.status, 200, path)
            self.assertEqual(header(response, "content-type"), "text/html; charset=utf-8")
            self.assertEqual(response.raw, PAGE.replace(b"<version>", self.version.encode()))
            self.assertEqual(header(response, "cache-control"), "no-cache")
            self.assertSecure(response)

    async def test_the_security_headers_are_exactly_the_specified_ones(self) -> None:
        response = await self.get("/chat")
        self.assertEqual(
            header(response, "content-security-policy"),
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
            "form-action 'self'; require-trusted-types-for 'script'; trusted-types 'none'",
        )
        self.assertEqual(header(response, "x-content-type-options"), "nosniff")
        self.assertEqual(header(response, "referrer-policy"), "same-origin")
        self.assertEqual(header(response, "cross-origin-opener-policy"), "same-origin")

    async def test_other_paths_keep_their_meaning(self) -> None:
        """The API's JSON 404 stays for unknown paths, and the other endpoints answer as ever."""
        for path in ["/api/nope", "/chat/x/1", "/chat/u", "/u", "/u/ann/more", "/nope", "/media/x"]:
            self.assertJsonError(await self.get(path), 404, "not_found")
        self.assertEqual((await self.get("/healthz")).json["database"], "ok")
        self.assertEqual((await self.get("/metrics")).status, 200)
        self.assertJsonError(await self.get("/api/auth/me"), 401, "unauthorized")

    async def test_only_get_and_head(self) -> None:
        response = await self.get("/settings", "POST")
        self.assertJsonError(response, 405, "method_not_allowed")
        self.assertEqual(header(response, "allow"), "GET, HEAD")
        head = await self.get("/settings", "HEAD")
        self.assertEqual((head.status, head.raw), (200, b""))

    async def test_revalidation(self) -> None:
        """The page is revalidated on each load: its ETag or date gives a 304 until it changes."""
        first = await self.get("/chat/u/1")
        etag, modified = header(first, "etag"), header(first, "last-modified")
        assert etag is not None and modified is not None
        for headers in [
            {"If-None-Match": etag},
            {"If-None-Match": f'"other", {etag}'},
            {"If-Modified-Since": modified},
            {"If-None-Match": etag, **GZIP},
        ]:
            response = await self.get("/", **headers)
            self.assertEqual((response.status, response.raw), (304, b""), headers)
            self.assertEqual(header(response, "etag"), etag)
        # If-None-Match decides when present, even with a date that would match.
        for headers in [{"If-None-Match": '"other"', "If-Modified-Since": modified}, {}]:
            self.assertEqual((await self.get("/", **headers)).status, 200, headers)
        self.assertEqual((await self.get("/", **{"If-Modified-Since": "not a date"})).status, 200)


class SignedInHintTests(WebCase):
    """The page's one use of the database, on SQLite here and on PostgreSQL below."""

    async def test_the_hint_is_made_true_for_the_session_before_the_page_is_sent(self) -> None:
        """The page starts its socket on the signed-in hint, so the server checks the session
        first: a live session without the hint (signed in before the hint existed) gets it, a
        dead one with the hint has it cleared, and a true hint is left alone. The page is the
        same either way, gzipped too."""
        token = (await register(self.running.url, "ann")).token
        cases = [
            (f"socialhub_session={token}", ["socialhub_signed_in=1; Path=/; SameSite=lax"]),
            (f"socialhub_session={token}; socialhub_signed_in=1", None),
            (
                "socialhub_session=no-such-session; socialhub_signed_in=1",
                ["socialhub_signed_in=; Path=/; Max-Age=0; SameSite=lax"],
            ),
            ("socialhub_session=no-such-session", None),
            ("other=1", None),
        ]
        page = (await self.get("/chat")).raw
        for cookie, set_cookie in cases:
            response = await self.get("/chat", cookie=cookie)
            self.assertEqual(response.headers.getRawHeaders("set-cookie"), set_cookie, cookie)
            self.assertEqual(response.raw, page, cookie)
            zipped = await self.get("/chat", cookie=cookie, **GZIP)
            self.assertEqual(gzip.decompress(zipped.raw), page, cookie)
            self.assertSecure(zipped)


class SignedInHintPostgresTests(PostgresEngine, SignedInHintTests):
    pass


class StaticTests(WebCase):
    async def test_files_of_this_version(self) -> None:
        for name, kind in [
            ("js/main.js", "text/javascript; charset=utf-8"),
            ("js/views/feed.js", "text/javascript; charset=utf-8"),
            ("app.css", "text/css; charset=utf-8"),
            ("icon.png", "image/png"),
        ]:
            response = await self.get(f"/static/{self.version}/{name}")
            self.assertEqual(response.status, 200, name)
            self.assertEqual(response.raw, FILES[name])
            self.assertEqual(header(response, "content-type"), kind)
            raw = await raw_get(self.running, f"/static/{self.version}/{name}")
            self.assertEqual(header(raw, "content-length"), str(len(FILES[name])))
            self.assertEqual(
                header(response, "cache-control"), "public, max-age=31536000, immutable"
            )
            self.assertSecure(response)

    async def test_nothing_else(self) -> None:
        """Another version, a missing or hidden file, the raw page: a JSON 404, never a file."""
        other = "0" * 16 if self.version != "0" * 16 else "1" * 16
        for path in [
            f"/static/{other}/js/main.js",
            f"/static/{self.version}/js/nope.js",
            f"/static/{self.version}/.editorconfig",
            f"/static/{self.version}/index.html",
            f"/static/{self.version}/js",
            f"/static/{self.version}/../app.css",
            f"/static/{self.version}/",
            "/static/",
            "/static",
            "/static/js/main.js",
        ]:
            response = await self.get(path)
            self.assertJsonError(response, 404, "not_found")
            self.assertSecure(response)

    async def test_gzip(self) -> None:
        """Gzipped for a browser that accepts it, and the same file to both kinds of client."""
        for path in [f"/static/{self.version}/js/main.js", "/chat"]:
            plain = await self.get(path)
            zipped = await self.get(path, **GZIP)
            self.assertEqual(header(zipped, "content-encoding"), "gzip")
            self.assertIsNone(header(plain, "content-encoding"))
            self.assertLess(len(zipped.raw), len(plain.raw))
            self.assertEqual(gzip.decompress(zipped.raw), plain.raw)
            self.assertEqual(header(zipped, "vary"), "accept-encoding")
            self.assertEqual(header(zipped, "etag"), header(plain, "etag"))

    async def test_revalidation(self) -> None:
        path = f"/static/{self.version}/app.css"
        etag = header(await self.get(path), "etag")
        assert etag is not None
        response = await self.get(path, **{"If-None-Match": etag, **GZIP})
        self.assertEqual((response.status, response.raw), (304, b""))
        self.assertEqual((await self.get(path, **{"If-None-Match": 'W/"x"'})).status, 200)


class VersionTests(TestCase):
    """The version is a hash of every file: any change makes every static URL new."""

    def load(self, files: dict[str, bytes]) -> WebClient:
        client = WebClient.load(Path(write_client(self.mktemp(), files)))
        assert client is not None
        return client

    def test_changes_with_any_file(self) -> None:
        version = self.load(FILES).version
        self.assertEqual(self.load(FILES).version, version)
        for changed in [
            {**FILES, "js/views/feed.js": b"export function render() { }\n"},
            {**FILES, "js/views/chat.js": b""},
            {k: v for k, v in FILES.items() if k != "icon.png"},
        ]:
            self.assertNotEqual(self.load(changed).version, version)

    def test_hidden_files_are_not_the_client(self) -> None:
        self.assertEqual(self.load({**FILES, ".swp": b"x"}).version, self.load(FILES).version)
        self.assertNotIn(".editorconfig", self.load(FILES).files)

    def test_in_a_hidden_directory(self) -> None:
        """Only names inside the client's directory count: it may itself be under a dot-name."""
        directory = Path(self.mktemp(), ".cache", "web")
        client = WebClient.load(Path(write_client(str(directory))))
        assert client is not None
        self.assertEqual(set(client.files), {name for name in FILES if not name.startswith(".")})

    def test_no_page_no_client(self) -> None:
        files = {k: v for k, v in FILES.items() if k != "index.html"}
        self.assertIsNone(WebClient.load(Path(write_client(self.mktemp(), files))))


class NoClientTests(TestCase):
    async def test_without_a_client_the_paths_are_the_apis(self) -> None:
        """A directory with no index.html serves nothing: / is the API's 404, as before."""
        directory = self.mktemp()
        os.makedirs(directory)
        running = await start_server(self, "sqlite", web_dir=directory)
        response: Any = await running.client().get("/")
        self.assertEqual((response.status, response.json["error"]), (404, "not_found"))
