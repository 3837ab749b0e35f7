"""What the HTTP layer answers by itself, before any route runs, over raw sockets: a request
too slow to arrive (408), and each malformed or misdirected request, all in the contract's
JSON error shape."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from trial_tests.http.test_conventions import ErrorShapeMixin
from trial_tests.support.harness import RunningServer, start_server
from trial_tests.support.raw_http import raw_get, raw_request, trickle

# Small deadlines keep the tests short; a trickle of a byte every 50 ms would outlive
# Twisted's own idle timeout, which every byte restarts.
QUICK = 0.5  # seconds, both deadlines
LOGIN = b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"


class DeadlineTests(ErrorShapeMixin, TestCase):
    """A request's headers, then its body, must arrive within their deadlines: a client that
    trickles them a byte at a time is answered 408 and the connection is closed."""

    async def _server(self) -> RunningServer:
        return await start_server(self, "sqlite", header_timeout=QUICK, body_timeout=QUICK)

    async def test_headers_a_byte_at_a_time(self) -> None:
        running = await self._server()
        response = await trickle(running, b"GET /api/groups HTTP/1.1\r\n", b"X-Slow: a\r\n")
        self.assertError(response, 408, "request_timeout")
        self.assertIn("headers", response.json["message"])

    async def test_a_body_trickling_in(self) -> None:
        running = await self._server()
        head = LOGIN + b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        response = await trickle(running, head + b'{"username": "', b"a")
        self.assertError(response, 408, "request_timeout")
        self.assertIn("body", response.json["message"])

    async def test_a_chunked_body_trickling_in(self) -> None:
        running = await self._server()
        head = LOGIN + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        response = await trickle(running, head, b"1\r\n \r\n")
        self.assertError(response, 408, "request_timeout")

    async def test_a_websocket_upgrade_a_byte_at_a_time(self) -> None:
        running = await self._server()
        head = b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        response = await trickle(running, head, b"X-Slow: a\r\n")
        self.assertError(response, 408, "request_timeout")

    async def test_a_refused_body_is_not_timed_out_too(self) -> None:
        """A body refused as too large (413) while it trickles in gets that one answer: its
        deadline passes while the server drains it, without a second answer."""
        running = await self._server()
        head = LOGIN + b"Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n"
        response = await trickle(running, head, b"a")
        self.assertError(response, 413, "payload_too_large")
        self.assertNotIn(b"request_timeout", response.raw)

    async def test_a_request_in_time_is_answered(self) -> None:
        """The deadlines hold only a slow request: one that arrives whole is served."""
        running = await self._server()
        response = await raw_get(running, "/healthz")
        self.assertEqual(response.status, 200, response.raw)


def _request(method: str, path: str, headers: str = "", body: bytes = b"") -> bytes:
    """A request's bytes (Host and Connection: close set, so the server closes after it)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\r\n"
    return head.encode() + body


class MalformedTests(ErrorShapeMixin, TestCase):
    """Each request twisted.web, Klein or Autobahn would refuse in their own words is refused
    in the contract's JSON: one raw request per case."""

    async def assertRefused(self, request: bytes, status: int, code: str) -> None:
        running = await start_server(self, "sqlite")
        self.assertError(await raw_request(running, request), status, code)

    async def assertMalformed(self, method: str, headers: str, body: bytes = b"") -> None:
        """A request to the API with these header lines and body is the contract's 400."""
        path = "/api/auth/login" if method == "POST" else "/api/groups"
        await self.assertRefused(_request(method, path, headers, body), 400, "invalid_request")

    async def test_content_length_not_a_number(self) -> None:
        await self.assertMalformed("POST", "Content-Length: x\r\n")

    async def test_content_length_negative(self) -> None:
        await self.assertMalformed("POST", "Content-Length: -1\r\n")

    async def test_two_content_lengths(self) -> None:
        await self.assertMalformed("POST", "Content-Length: 2\r\nContent-Length: 2\r\n", b"{}")

    async def test_an_unknown_transfer_encoding(self) -> None:
        await self.assertMalformed("POST", "Transfer-Encoding: gzip\r\n")

    async def test_a_malformed_chunk(self) -> None:
        body = b"zz\r\nabc\r\n0\r\n\r\n"
        await self.assertMalformed("POST", "Transfer-Encoding: chunked\r\n", body)

    async def test_a_header_without_a_colon(self) -> None:
        await self.assertMalformed("GET", "Bad Header\r\n")

    async def test_a_nul_in_a_header(self) -> None:
        await self.assertMalformed("GET", "X-A: a\x00b\r\n")

    async def test_an_unknown_http_version(self) -> None:
        request = b"GET /api/groups HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n"
        await self.assertRefused(request, 400, "invalid_request")

    async def test_http_1_1_without_host(self) -> None:
        request = b"GET /api/groups HTTP/1.1\r\nConnection: close\r\n\r\n"
        await self.assertRefused(request, 400, "invalid_request")

    async def test_an_unknown_method(self) -> None:
        for path in ("/api/groups", "/", "/healthz", "/static/app.css"):
            await self.assertRefused(_request("BREW", path), 405, "method_not_allowed")

    async def test_a_post_to_ws(self) -> None:
        running = await start_server(self, "sqlite")
        response = await raw_request(running, _request("POST", "/ws", "Content-Length: 0\r\n"))
        self.assertError(response, 405, "method_not_allowed")
        self.assertEqual(response.headers.getRawHeaders(b"allow"), [b"GET"])

    async def test_a_get_of_ws_that_is_no_upgrade(self) -> None:
        await self.assertRefused(_request("GET", "/ws"), 426, "upgrade_required")
