"""The HTTP conventions (docs/api.md) over real HTTP: JSON errors, their precedence, body and
text limits.

Each check goes through a real server on a loopback port, except the direct unit tests of
socialhub/validation.py (no route takes a path id yet, so parse_path_id is tested there).
"""

from __future__ import annotations

import io
from typing import Any

import orjson
import treq
from treq.client import HTTPClient
from twisted.internet import reactor
from twisted.internet.defer import CancelledError
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH

from socialhub.errors import InvalidRequest, NotFound
from socialhub.validation import MAX_ID, QUERY_MAX, page, parse_id, parse_path_id, search_text, text
from trial_tests.support.harness import (
    Client,
    PostgresEngine,
    Response,
    RunningServer,
    SqliteEngine,
    start_server,
)
from trial_tests.support.mixins import EngineTestMixin
from trial_tests.support.raw_http import raw_get, raw_post, raw_request

MIB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


def register_body(username: str = "alice", **fields: Any) -> dict[str, Any]:
    return {
        "username": username,
        "email": f"{username}@example.org",
        "password": "correct horse",
        **fields,
    }


async def post_unknown_length(url: str, body: bytes, headers: dict[str, str]) -> Response:
    """POST `body` chunked through treq: a producer of unknown length, no Content-Length."""
    producer = FileBodyProducer(io.BytesIO(body))
    producer.length = UNKNOWN_LENGTH
    pool = HTTPConnectionPool(reactor, persistent=False)
    http = HTTPClient(Agent(reactor, pool=pool))
    fields = Headers({name: [value] for name, value in headers.items()})
    response = await http.request("POST", url, data=producer, headers=fields)
    raw = await treq.content(response)
    return Response(response.code, response.headers, raw)


class ErrorShapeMixin:
    """Assertions on the contract's error responses."""

    def assertError(self: Any, response: Response, status: int, code: str) -> None:
        """`response` is `status` with a JSON body {"error": code, "message": "..."}."""
        self.assertEqual(response.status, status, response.raw)
        self.assertEqual(
            response.headers.getRawHeaders(b"content-type"), [b"application/json"], response.raw
        )
        body = response.json
        self.assertEqual(set(body), {"error", "message"})
        self.assertEqual(body["error"], code)
        self.assertIsInstance(body["message"], str)
        self.assertTrue(body["message"])


class HttpConventionsTests(ErrorShapeMixin, TestCase):
    """Routing errors, body syntax and size limits, and their order of precedence."""

    async def _server(self) -> RunningServer:
        return await start_server(self, "sqlite")

    async def test_unknown_route_without_session(self) -> None:
        """An unknown path is a JSON 404 for a caller without a session, /api or not (the web
        client's paths, `/` among them, are trial_tests/http/test_web.py's)."""
        client = (await self._server()).client()
        for path in ("/api/nope", "/nope", "/api/auth/me/extra", "/api"):
            self.assertError(await client.get(path), 404, "not_found")

    async def test_unknown_route_with_session(self) -> None:
        """With a valid session an unknown path is still a JSON 404 (not 401, not HTML)."""
        client = (await self._server()).client()
        await client.register("alice")
        self.assertError(await client.get("/api/nope"), 404, "not_found")
        self.assertError(await client.post("/api/nope", {"a": 1}), 404, "not_found")

    async def test_a_request_cut_short_is_503_and_no_fault(self) -> None:
        """A handler cancelled under way (Klein cancels a request whose connection closed)
        answers 503 `unavailable`, and logs no error (trial fails a test on a logged one)."""
        running = await self._server()
        client = running.client()
        await client.register("alice")

        async def cancelled(user_id: int) -> int:
            raise CancelledError()

        running.server.handlers.notifications.unread_count = cancelled
        response = await client.get("/api/notifications/unread_count")
        self.assertError(response, 503, "unavailable")

    async def test_wrong_method(self) -> None:
        """A known path with another method is a JSON 405 naming the allowed method."""
        client = (await self._server()).client()
        response = await client.get("/api/auth/register")
        self.assertError(response, 405, "method_not_allowed")
        allowed = response.headers.getRawHeaders(b"allow")[0].decode()
        self.assertIn("POST", allowed)

    async def test_method_before_session(self) -> None:
        """405 comes before 401: a session route with the wrong method, without a cookie."""
        client = (await self._server()).client()
        self.assertError(await client.request("DELETE", "/api/auth/me"), 405, "method_not_allowed")

    async def test_unknown_path_before_body_syntax(self) -> None:
        """An unknown path with a non-JSON body is 404, not 415."""
        client = (await self._server()).client()
        response = await client.post(
            "/api/nope", data=b"hello", headers={"Content-Type": "text/plain"}
        )
        self.assertError(response, 404, "not_found")

    async def test_non_json_content_type(self) -> None:
        """A body sent as text/plain, or with no Content-Type at all, is 415."""
        client = (await self._server()).client()
        body = orjson.dumps(register_body())
        for headers in ({"Content-Type": "text/plain"}, {}):
            response = await client.post("/api/auth/register", data=body, headers=headers)
            self.assertError(response, 415, "unsupported_media_type")

    async def test_json_content_type_with_charset(self) -> None:
        """`application/json; charset=utf-8` is JSON."""
        client = (await self._server()).client()
        response = await client.post(
            "/api/auth/register",
            data=orjson.dumps(register_body()),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        self.assertEqual(response.status, 201, response.raw)

    async def test_malformed_json(self) -> None:
        """A body that is not JSON, or not UTF-8, is 400."""
        client = (await self._server()).client()
        for raw in (b'{"username":', b"{'a': 1}", b'{"a": "\xff"}', b"nul"):
            response = await client.post("/api/auth/register", data=raw, headers=JSON)
            self.assertError(response, 400, "invalid_request")

    async def test_body_must_be_an_object(self) -> None:
        """A JSON array, string or number as the body is 400."""
        client = (await self._server()).client()
        for raw in (b"[1, 2]", b'"alice"', b"42", b"null"):
            response = await client.post("/api/auth/register", data=raw, headers=JSON)
            self.assertError(response, 400, "invalid_request")

    async def test_session_before_body_syntax(self) -> None:
        """401 comes before 415 and 400: a session route called without a cookie, bad body."""
        client = (await self._server()).client()
        for path in ("/api/auth/logout", "/api/auth/password"):
            response = await client.post(path, data=b"x", headers={"Content-Type": "text/plain"})
            self.assertError(response, 401, "unauthorized")
            response = await client.post(path, data=b"[", headers=JSON)
            self.assertError(response, 401, "unauthorized")

    async def test_body_syntax_with_session(self) -> None:
        """With a session, the same session route answers 415 and 400 for those bodies."""
        client = (await self._server()).client()
        await client.register("alice")
        path = "/api/auth/password"
        response = await client.post(path, data=b"x", headers={"Content-Type": "text/plain"})
        self.assertError(response, 415, "unsupported_media_type")
        self.assertError(await client.post(path, data=b"[", headers=JSON), 400, "invalid_request")

    async def test_oversized_body_with_length(self) -> None:
        """A Content-Length above 1 MiB is 413."""
        running = await self._server()
        response = await raw_post(running, "/api/auth/register", b" " * (MIB + 1))
        self.assertError(response, 413, "payload_too_large")

    async def test_declared_length_refused_before_the_body(self) -> None:
        """A Content-Length above 1 MiB is answered 413 before any of the body is sent."""
        running = await self._server()
        response = await raw_post(running, "/api/auth/register", b"", declared_length=MIB + 1)
        self.assertError(response, 413, "payload_too_large")
        self.assertEqual(response.headers.getRawHeaders(b"connection"), [b"close"])

    async def test_body_of_exactly_one_mib(self) -> None:
        """A body of exactly 1 MiB is read and validated (400 for the field), not refused."""
        client = (await self._server()).client()
        prefix = orjson.dumps(register_body())[:-1] + b', "display_name": "'
        body = prefix + b"x" * (MIB - len(prefix) - 2) + b'"}'
        self.assertEqual(len(body), MIB)
        response = await client.post("/api/auth/register", data=body, headers=JSON)
        self.assertError(response, 400, "invalid_request")

    async def test_oversized_chunked_body(self) -> None:
        """A chunked body (no Content-Length) that grows past 1 MiB is 413."""
        running = await self._server()
        response = await raw_post(running, "/api/auth/register", b" " * (2 * MIB), True)
        self.assertError(response, 413, "payload_too_large")

    async def test_small_chunked_body(self) -> None:
        """A chunked body under the limit is read as usual."""
        running = await self._server()
        body = orjson.dumps(register_body())
        response = await post_unknown_length(running.url + "/api/auth/register", body, JSON)
        self.assertEqual(response.status, 201, response.raw)

    async def test_too_large_before_unknown_path(self) -> None:
        """413 comes before 404: an oversized body to an unknown path, declared or chunked."""
        running = await self._server()
        for chunked in (False, True):
            response = await raw_post(running, "/nope", b" " * (2 * MIB), chunked)
            self.assertError(response, 413, "payload_too_large")


def _get(path: str, headers: str = "") -> bytes:
    """A GET request's bytes, with more header lines (each ending in CRLF) when given."""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()


class RefusedByTheHttpLayerTests(ErrorShapeMixin, TestCase):
    """What twisted.web or Klein refuse before any route runs is the contract's JSON 400 too."""

    async def test_a_path_that_is_not_utf8(self) -> None:
        running = await start_server(self, "sqlite")
        for path in ("/api/%ff", "/%ff", "/api/users/%ff", "/ws%ff", "/api/auth/me/%c3"):
            self.assertError(await raw_get(running, path), 400, "invalid_request")

    async def test_a_request_line_too_long(self) -> None:
        """A 20,000-character query string: answered, not a connection closed in silence."""
        running = await start_server(self, "sqlite")
        response = await raw_request(running, _get("/api/groups?q=" + "a" * 20_000))
        self.assertError(response, 400, "invalid_request")

    async def test_headers_too_large(self) -> None:
        running = await start_server(self, "sqlite")
        headers = "".join(f"X-Filler-{n}: {'b' * 6000}\r\n" for n in range(3))
        response = await raw_request(running, _get("/api/groups", headers))
        self.assertError(response, 400, "invalid_request")

    async def test_a_malformed_request_line(self) -> None:
        running = await start_server(self, "sqlite")
        response = await raw_request(running, b"NONSENSE\r\nHost: 127.0.0.1\r\n\r\n")
        self.assertError(response, 400, "invalid_request")


class ControlCharacterTests(ErrorShapeMixin, EngineTestMixin):
    """Text the drivers would reject (NUL, surrogates) is a 400 before it reaches SQL."""

    async def _post(self, client: Client, path: str, raw: bytes) -> Response:
        return await client.post(path, data=raw, headers=JSON)

    async def test_register_fields_refuse_control_characters(self) -> None:
        """NUL, other C0/C1 controls and DEL in any register field are 400."""
        client = (await start_server(self, self.engine)).client()
        cases = [
            rb'{"username": "a\u0000b", "email": "a@example.org", "password": "correct horse"}',
            rb'{"username": "alice", "email": "a\u0000@example.org", "password": "correct horse"}',
            rb'{"username": "alice", "email": "a@example.org", "password": "correct\u0000horse"}',
            rb'{"username": "alice", "email": "a@example.org", "password": "correct horse",'
            rb' "display_name": "A\u0000"}',
            rb'{"username": "alice", "email": "a@example.org", "password": "correct horse",'
            rb' "display_name": "A\u0007"}',
            rb'{"username": "alice", "email": "a@example.org", "password": "correct horse",'
            rb' "display_name": "A\u007f"}',
            rb'{"username": "alice", "email": "a@example.org", "password": "correct horse",'
            rb' "display_name": "A\u0085"}',
        ]
        for raw in cases:
            response = await self._post(client, "/api/auth/register", raw)
            self.assertError(response, 400, "invalid_request")
        self.assertEqual((await client.get("/api/auth/me")).status, 401)

    async def test_register_fields_refuse_unpaired_surrogates(self) -> None:
        """An unpaired surrogate, escaped or as raw bytes, is 400."""
        client = (await start_server(self, self.engine)).client()
        base = b'{"username": "alice", "email": "a@example.org", "password": "correct horse", '
        for tail in (rb'"display_name": "\ud800"}', b'"display_name": "\xed\xa0\x80"}'):
            response = await self._post(client, "/api/auth/register", base + tail)
            self.assertError(response, 400, "invalid_request")

    async def test_login_refuses_control_characters(self) -> None:
        """A NUL in a login name or password is 400, not a driver error."""
        client = (await start_server(self, self.engine)).client()
        for raw in (
            rb'{"username": "al\u0000ice", "password": "correct horse"}',
            rb'{"email": "a\u0000@example.org", "password": "correct horse"}',
            rb'{"username": "alice", "password": "correct\u0000horse"}',
        ):
            response = await self._post(client, "/api/auth/login", raw)
            self.assertError(response, 400, "invalid_request")

    async def test_tab_newline_and_non_ascii_are_kept_verbatim(self) -> None:
        """Tab, newline and carriage return are allowed, and text is stored untrimmed."""
        client = (await start_server(self, self.engine)).client()
        name = " Al\tice\r\n é😀 "
        response = await client.post("/api/auth/register", register_body(display_name=name))
        self.assertEqual(response.status, 201, response.raw)
        self.assertEqual((await client.get("/api/auth/me")).json["display_name"], name)


class ControlCharacterSqliteTests(SqliteEngine, ControlCharacterTests, TestCase):
    pass


class ControlCharacterPostgresTests(PostgresEngine, ControlCharacterTests, TestCase):
    pass


class ListBoundsTests(ErrorShapeMixin, EngineTestMixin):
    """Every list's `offset` is bounded where it is parsed: 2^63 is a 400, not a driver's
    overflow; the largest allowed offset, and a `limit` of any size (clamped), are an answer."""

    async def _lists(self) -> tuple[Client, list[str]]:
        """alice (an administrator) and the path of every list route, with something in each."""
        running = await start_server(self, self.engine, admins=frozenset({"alice"}))
        alice, bob = running.client(), running.client()
        await alice.register("alice")
        bob_id = (await bob.register("bob"))["id"]
        group_id = (await alice.post("/api/groups", {"name": "Developers"})).json["id"]
        post_id = (await alice.post("/api/posts", {"content": "hello"})).json["id"]
        paths = [
            "/api/users?",
            f"/api/users/{bob_id}/followers?",
            f"/api/users/{bob_id}/following?",
            "/api/follow-requests?",
            "/api/blocks?",
            f"/api/messages/private?user={bob_id}&",
            f"/api/messages/group?group={group_id}&",
            "/api/groups?",
            f"/api/groups/{group_id}/members?",
            f"/api/groups/{group_id}/requests?",
            f"/api/groups/{group_id}/events?",
            "/api/feed?",
            f"/api/users/{bob_id}/posts?",
            f"/api/groups/{group_id}/posts?",
            f"/api/posts/{post_id}/comments?",
            "/api/conversations?",
            "/api/notifications?",
            "/api/admin/users?",
            "/api/admin/reports?",
            "/api/admin/audit?",
        ]
        return alice, paths

    async def test_offset_beyond_64_bits_is_400(self) -> None:
        client, paths = await self._lists()
        for path in paths:
            for offset in (MAX_ID + 1, 10**30):
                response = await client.get(f"{path}offset={offset}")
                self.assertError(response, 400, "invalid_request")

    async def test_largest_offset_and_any_limit_answer(self) -> None:
        client, paths = await self._lists()
        for path in paths:
            for query in (f"offset={MAX_ID}", f"limit={MAX_ID + 1}", f"limit={10**30}"):
                response = await client.get(path + query)
                self.assertEqual(response.status, 200, (path, query, response.raw))
                self.assertIsInstance(response.json, list, (path, query))


class ListBoundsSqliteTests(SqliteEngine, ListBoundsTests, TestCase):
    pass


class ListBoundsPostgresTests(PostgresEngine, ListBoundsTests, TestCase):
    pass


class ParseIdTests(TestCase):
    """validation.parse_id and parse_path_id: positive integers below 2^63."""

    def test_valid_ids(self) -> None:
        """Integers and strings of digits in 1 .. 2^63-1 are ids."""
        self.assertEqual(parse_id(12, "id"), 12)
        self.assertEqual(parse_id("12", "id"), 12)
        self.assertEqual(parse_id(MAX_ID, "id"), 2**63 - 1)
        self.assertEqual(parse_id(str(MAX_ID), "id"), 2**63 - 1)

    def test_invalid_ids(self) -> None:
        """Non-digits, zero, negatives, out of range, booleans and floats are 400."""
        for value in (
            "abc",
            0,
            -1,
            "0",
            "-1",
            " 12",
            "1e3",
            "١٢",
            99999999999999999999,
            "99999999999999999999",
            2**63,
            str(2**63),
            True,
            False,
            1.5,
            1.0,
            None,
            [1],
        ):
            with self.assertRaises(InvalidRequest, msg=repr(value)):
                parse_id(value, "id")

    def test_path_ids(self) -> None:
        """A path segment that is not a valid id names no resource: 404, not 400."""
        self.assertEqual(parse_path_id("42"), 42)
        for value in ("abc", "0", "-1", "1.5", str(2**63), "99999999999999999999", ""):
            with self.assertRaises(NotFound, msg=repr(value)):
                parse_path_id(value)


class TextTests(TestCase):
    """validation.text: verbatim text, control characters refused, length in code points."""

    def test_control_characters_refused(self) -> None:
        """NUL, C0 controls, DEL, C1 controls and lone surrogates are 400."""
        for value in ("a\x00b", "\x01", "a\x1fb", "\x7f", "\x85", "\x9f", "\ud800", "x\udfff"):
            with self.assertRaises(InvalidRequest, msg=repr(value)):
                text(value, "field", max_length=100)

    def test_tab_newline_carriage_return_allowed(self) -> None:
        """Tab, newline and carriage return are kept, as is surrounding whitespace."""
        self.assertEqual(text(" a\tb\nc\r ", "field", max_length=100), " a\tb\nc\r ")

    def test_length_counts_code_points(self) -> None:
        """4,000 `é` (8,000 bytes of UTF-8) fit a 4,000 character limit; 4,001 do not."""
        self.assertEqual(text("é" * 4000, "content", max_length=4000), "é" * 4000)
        with self.assertRaises(InvalidRequest):
            text("é" * 4001, "content", max_length=4000)
        self.assertEqual(text("😀" * 10, "content", max_length=10), "😀" * 10)

    def test_minimum_length_and_whitespace_content(self) -> None:
        """Too short text is 400, and with content=True so is whitespace alone."""
        with self.assertRaises(InvalidRequest):
            text("", "name", min_length=1, max_length=10)
        with self.assertRaises(InvalidRequest):
            text(" \n\t", "content", min_length=1, max_length=10, content=True)
        self.assertEqual(text(" x ", "content", min_length=1, max_length=10, content=True), " x ")

    def test_non_strings_refused(self) -> None:
        """Numbers, null, lists and objects are not text."""
        for value in (1, None, ["a"], {"a": 1}, True):
            with self.assertRaises(InvalidRequest):
                text(value, "field", max_length=10)


class PageTests(TestCase):
    """validation.page: limit and offset of list endpoints."""

    def test_defaults(self) -> None:
        """Without parameters: the endpoint's default limit and offset 0."""
        self.assertEqual(page({}, 20), (20, 0))
        self.assertEqual(page({"offset": "7"}, 50), (50, 7))

    def test_limit_clamped(self) -> None:
        """A limit above 100 is clamped to 100, however large it is."""
        self.assertEqual(page({"limit": "101"}, 20), (100, 0))
        self.assertEqual(page({"limit": "500"}, 20), (100, 0))
        self.assertEqual(page({"limit": "99999999999999999999999"}, 20), (100, 0))
        self.assertEqual(page({"limit": "100"}, 20), (100, 0))

    def test_limit_zero(self) -> None:
        """limit=0 is allowed (the list is empty)."""
        self.assertEqual(page({"limit": "0"}, 20), (0, 0))

    def test_invalid_limit_or_offset(self) -> None:
        """Negative or non-integer limit and offset are 400."""
        for query in (
            {"limit": "-1"},
            {"limit": "1.5"},
            {"limit": "abc"},
            {"limit": ""},
            {"limit": "1e2"},
            {"offset": "-3"},
            {"offset": "x"},
            {"offset": "2.0"},
            {"offset": str(MAX_ID + 1)},
        ):
            with self.assertRaises(InvalidRequest, msg=repr(query)):
                page(query, 20)


class SearchTextTests(TestCase):
    """validation.search_text: the `q` of the group and user searches."""

    def test_search_text(self) -> None:
        """Absent is "" (everything); at most QUERY_MAX code points, no control character."""
        self.assertEqual(search_text({}), "")
        self.assertEqual(search_text({"q": "ali"}), "ali")
        self.assertEqual(search_text({"q": "é" * QUERY_MAX}), "é" * QUERY_MAX)
        for bad in ("x" * (QUERY_MAX + 1), "a\x00"):
            with self.assertRaises(InvalidRequest):
                search_text({"q": bad})
