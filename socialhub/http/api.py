"""The HTTP conventions of the contract, in one place, for every /api route.

`Api.route` wraps a handler so that, in the contract's order of precedence, the caller is
authenticated (401), is an administrator on an administrator's route (403), is within the
rate limit of a state-changing request (429 with Retry-After; per user and per client address,
http/costs.py sorts the routes into classes), the body is JSON (415/400), and whatever the
handler raises becomes a JSON error body: SocialHubError with its status, an unreachable
database as 503, anything else as a logged 500 without the traceback.
Routing's own 404 and 405 are JSON too. A `raw_body` route (the one upload, `POST /api/media`)
gets the body's bytes and Content-Type instead of JSON.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from klein import Klein
from twisted.internet.defer import CancelledError
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource
from twisted.web.server import Request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as RoutingMethodNotAllowed

from socialhub.auth.tokens import COOKIE_NAME, HINT_COOKIE_NAME
from socialhub.errors import (
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    RateLimited,
    SocialHubError,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)
from socialhub.handlers.accounts import Accounts, Viewer
from socialhub.handlers.policy import require_admin
from socialhub.handlers.rate_limit import Cost, RateLimits
from socialhub.http.costs import cost_of
from socialhub.http.request import LimitedRequest, client_address
from socialhub.http.schemas import Param
from socialhub.storage.database import DatabaseUnavailable

# The methods whose JSON body is read (and which the conventions may answer 409, 413 or 415).
STATE_CHANGING = frozenset({"POST", "PATCH", "PUT", "DELETE"})
_STATE_CHANGING = frozenset(method.encode() for method in STATE_CHANGING)  # as Twisted has them
log = Logger(namespace="socialhub.http")


@dataclass
class Call:
    """What a route handler gets: the parsed request, never the raw one."""

    request: Request
    viewer: Viewer | None
    body: Mapping[str, Any]
    query: Mapping[str, str]
    path: Mapping[str, str]
    address: str
    raw_body: bytes = b""  # only for routes registered with raw_body=True
    content_type: str = ""

    @property
    def user_viewer(self) -> Viewer:
        """The viewer of a route that requires a session (set by the route wrapper)."""
        assert self.viewer is not None
        return self.viewer


@dataclass
class Reply:
    """A handler's answer when it is not a plain 200 with a JSON body (bytes go out as they are,
    and a resource, such as a static.File, renders itself after the status and headers)."""

    body: object = None
    status: int = 200
    cookie: tuple[str, int] | None = None  # (token, max-age); an empty token clears it
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Awaitable[object]]


@dataclass(frozen=True)
class _Checks:
    """What a route asks of a request before its handler runs: a session, a JSON body (or its
    raw bytes), an administrator, and its class of rate limit (None: not limited)."""

    auth: bool
    raw_body: bool
    admin: bool
    cost: Cost | None


BodyParser = Callable[[Mapping[str, Any]], object]


@dataclass(frozen=True)
class Declared:
    """What a route states about itself beyond its path and method, for its OpenAPI operation
    (http/openapi.py): who may call it, what it reads, and its success statuses."""

    auth: bool
    admin: bool
    raw_body: bool
    ok: tuple[int, ...]
    body: BodyParser | None  # the parser of http/rest/bodies.py that reads its JSON body
    query: tuple[Param, ...]
    refusals: tuple[int, ...]  # error statuses of its own, beyond the conventions' (openapi.py)


_PATH_ARGUMENT = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


def route_pattern(path: str) -> str:
    """A route's path as metrics and logs name it: `/api/posts/<post_id>` is
    `/api/posts/{post_id}` (never the raw path, whose ids would make a label per post)."""
    return _PATH_ARGUMENT.sub(r"{\1}", path)


def _query(request: Request) -> dict[str, str]:
    try:
        return {
            key.decode("utf-8"): values[0].decode("utf-8")
            for key, values in (request.args or {}).items()
            if values
        }
    except UnicodeDecodeError:
        raise InvalidRequest("the query string is not valid UTF-8") from None


def _body(request: Request) -> dict[str, Any]:
    """The JSON object body of a state-changing request ({} when there is none)."""
    if request.method not in _STATE_CHANGING or request.content is None:
        return {}
    raw = request.content.read()
    if not raw:
        return {}
    media_type = (request.getHeader(b"content-type") or b"").split(b";")[0].strip().lower()
    if media_type != b"application/json":
        raise UnsupportedMediaType("the body must be application/json")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body


def _raw_body(request: Request) -> tuple[bytes, str]:
    """The body's bytes and declared Content-Type, for a route that reads them itself."""
    raw = request.content.read() if request.content is not None else b""
    return raw, (request.getHeader(b"content-type") or b"").decode("latin-1")


def write_error(request: IRequest, error: SocialHubError) -> bytes:
    """The contract's JSON error body, its status and type set on the request."""
    request.setResponseCode(error.status)
    if isinstance(error, RateLimited):
        request.setHeader(b"retry-after", str(error.retry_after).encode())
    request.setHeader(b"content-type", b"application/json")
    return orjson.dumps({"error": error.code, "message": error.message})


def _write_reply(request: Request, reply: Reply, secure_cookies: bool) -> bytes | IResource:
    request.setResponseCode(reply.status)
    for name, value in reply.headers.items():
        request.setHeader(name.encode(), value.encode())
    if reply.cookie is not None:
        token, max_age = reply.cookie
        _set_cookies(request, token, max_age, secure_cookies)
    if reply.body is None:
        return b""
    if isinstance(reply.body, bytes) or IResource.providedBy(reply.body):
        return reply.body  # already encoded (its type is in reply.headers), or a resource
    request.setHeader(b"content-type", b"application/json")
    return orjson.dumps(reply.body)


def _set_cookies(request: Request, token: str, max_age: int, secure: bool) -> None:
    """The session cookie, and the hint that the page may be signed in, set (or cleared, with
    max_age 0) together so that they live and expire alike."""
    # The session cookie comes last: a client that keeps the last Set-Cookie keeps it.
    for name, value, http_only in (
        (HINT_COOKIE_NAME, "1" if max_age else "", False),
        (COOKIE_NAME, token, True),
    ):
        request.addCookie(
            name.encode(),
            value.encode(),
            max_age=str(max_age).encode(),
            path=b"/",
            httpOnly=http_only,
            secure=secure,
            sameSite="lax",
        )


class Api:
    """The Klein application of /api, /healthz and /metrics."""

    def __init__(
        self,
        accounts: Accounts,
        limits: RateLimits,
        trusted_proxy: str | None,
        secure_cookies: bool,
    ) -> None:
        self.app = Klein()
        self._accounts = accounts
        self._limits = limits
        self._trusted_proxy = trusted_proxy
        self._secure_cookies = secure_cookies
        self.app.handle_errors(HTTPException)(self._routing_error)
        # Each route's declaration, by its Klein endpoint (`METHOD path`).
        self.declared: dict[str, Declared] = {}

    def resource(self) -> Any:
        return self.app.resource()

    def route(
        self,
        path: str,
        method: str,
        *,
        auth: bool = True,
        raw_body: bool = False,
        admin: bool = False,
        ok: int | tuple[int, ...] = 200,
        body: BodyParser | None = None,
        query: Sequence[Param] = (),
        refusals: Sequence[int] = (),
    ) -> Callable[[Handler], Handler]:
        """Register `handler` for METHOD path, with the contract's checks around it.

        `ok` (its success statuses), `body` (the parser its JSON body goes through), `query`
        (the parameters it reads) and `refusals` (error statuses its conventions do not imply)
        describe the route in /api/openapi.json.

        An `admin` route (every /api/admin route) refuses a caller who is not an administrator
        with 403, after the 401 and before the body is read (policy.require_admin).

        With `raw_body` the body is not parsed as JSON: the handler gets `call.raw_body` and
        `call.content_type` and checks them itself (after the 401, as for JSON).
        """

        pattern = route_pattern(path)
        cost = cost_of(method, pattern)

        def register(handler: Handler) -> Handler:
            @functools.wraps(handler)
            async def endpoint(request: Request, **path_args: str) -> bytes | IResource:
                if isinstance(request, LimitedRequest):
                    request.route = pattern
                request.setHeader(b"x-content-type-options", b"nosniff")
                request.setHeader(b"cache-control", b"no-store")
                try:
                    call = await self._call(
                        request, path_args, _Checks(auth or admin, raw_body, admin, cost)
                    )
                    result = await handler(call)
                except SocialHubError as error:
                    return write_error(request, error)
                except DatabaseUnavailable:
                    log.warn("database unavailable for {method} {path}", method=method, path=path)
                    return write_error(request, Unavailable("the database is unreachable"))
                except CancelledError:
                    # Klein cancels a request whose connection closed (the client left, or the
                    # server closed it while stopping): not a fault, and nobody reads the answer.
                    log.info("{method} {path} cut short", method=method, path=path)
                    return write_error(request, Unavailable("the request was cut short"))
                except Exception:
                    log.failure("unexpected error in {method} {path}", method=method, path=path)
                    return write_error(request, SocialHubError("internal server error"))
                reply = result if isinstance(result, Reply) else Reply(body=result)
                return _write_reply(request, reply, self._secure_cookies)

            # Klein names routes after the function unless told: two handlers named alike
            # would silently replace each other.
            self.app.route(path, methods=[method], endpoint=f"{method} {path}")(endpoint)
            self.declared[f"{method} {path}"] = Declared(
                auth or admin,
                admin,
                raw_body,
                ok if isinstance(ok, tuple) else (ok,),
                body,
                tuple(query),
                tuple(refusals),
            )
            return handler

        return register

    async def _call(
        self,
        request: Request,
        path_args: Mapping[str, str],
        checks: _Checks,
    ) -> Call:
        viewer = None
        if checks.auth:
            token = request.getCookie(COOKIE_NAME.encode())
            viewer = await self._accounts.authenticate(token.decode("latin-1") if token else None)
            if viewer is None:
                raise Unauthorized("a valid session is required")
            if isinstance(request, LimitedRequest):
                request.user_id = viewer.user.id
            if checks.admin:
                require_admin(viewer.user)
        address = client_address(request, self._trusted_proxy)
        if checks.cost is not None:
            user_id = viewer.user.id if viewer is not None else None
            await self._limits.check_request(checks.cost, user_id, address)
        raw_body = checks.raw_body
        raw, content_type = _raw_body(request) if raw_body else (b"", "")
        return Call(
            request=request,
            viewer=viewer,
            body={} if raw_body else _body(request),
            query=_query(request),
            path=path_args,
            address=address,
            raw_body=raw,
            content_type=content_type,
        )

    def _routing_error(self, request: IRequest, failure: Failure) -> bytes:
        """Routing's 404 and 405 in the contract's JSON shape."""
        if isinstance(failure.value, RoutingMethodNotAllowed):
            allowed = failure.value.valid_methods or []
            request.setHeader(b"allow", ", ".join(allowed).encode())
            return write_error(request, MethodNotAllowed("method not allowed on this path"))
        return write_error(request, NotFound("no such path"))
