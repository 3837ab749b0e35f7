"""What end-to-end tests share: a real server on a loopback port over a real database.

`start_server` builds the real Site and listens on a free 127.0.0.1 port. The database is a
fresh SQLite file in the test's temporary directory, or a schema of its own in a PostgreSQL
database created for this test run (127.0.0.1:5432, user postgres) and dropped when it ends.
`Client` is a treq client with its own cookie jar: one client, one browser.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import secrets
from http.cookiejar import CookieJar
from typing import Any

import orjson
import psycopg2
import treq
from treq.client import HTTPClient
from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, HTTPConnectionPool

from socialhub.config import Config
from socialhub.reactor import as_reactor
from socialhub.server import SocialHubService

PG_ADMIN_DSN = os.environ.get("SOCIALHUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_run_database: str | None = None
_schemas = 0


def _admin_sql(statement: str, dsn: str = PG_ADMIN_DSN) -> None:
    """Run one statement outside any transaction (CREATE DATABASE needs that)."""
    connection = psycopg2.connect(dsn)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def _drop_run_database(name: str) -> None:
    _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_base_url() -> str:
    """The URL of this test run's PostgreSQL database, created on first use."""
    global _run_database
    if _run_database is None:
        name = f"socialhub_test_{os.getpid()}_{secrets.token_hex(4)}"
        _admin_sql(f'CREATE DATABASE "{name}"')
        atexit.register(_drop_run_database, name)
        _run_database = name
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + _run_database


def fresh_postgres_url() -> str:
    """A URL whose tables live in a new, empty schema of the run's database."""
    global _schemas
    _schemas += 1
    schema = f"t{_schemas}_{secrets.token_hex(3)}"
    base = postgres_base_url()
    _admin_sql(f'CREATE SCHEMA "{schema}"', base)
    return f"{base}?options=-csearch_path%3D{schema}"


def database_url(testcase: TestCase, engine: str) -> str:
    if engine == "sqlite":
        path: str = testcase.mktemp()
        return "sqlite:" + os.path.abspath(path + ".sqlite3")
    return fresh_postgres_url()


# The REST and per-address rate limits off: every test server's default (test_config, MemoryServer,
# processes.start_process) unless the test asks for them.
NO_REQUEST_LIMITS = {"rest_rate_limit": 0, "address_rate_limit": 0}


def test_config(database: str, **overrides: Any) -> Config:
    """A Config for tests: a free loopback port, cheap password hashing, and no REST or
    per-address rate limits (tests make thousands of requests from 127.0.0.1) unless asked."""
    defaults: dict[str, Any] = {
        "listen": "tcp:0:interface=127.0.0.1",
        "database": database,
        "password_time_cost": 1,
        "password_memory_kib": 8,
        **NO_REQUEST_LIMITS,
    }
    return Config(**{**defaults, **overrides})


@dataclasses.dataclass
class RunningServer:
    service: SocialHubService
    url: str

    @property
    def server(self) -> Any:
        return self.service.server

    def client(self) -> Client:
        return Client(self.url)

    async def stop(self) -> None:
        if self.service.running:
            await self.service.stopService()


async def serve(config: Config) -> RunningServer:
    """Start a real server with this config; whoever started it stops it."""
    service = SocialHubService(config, as_reactor(reactor))
    service.startService()
    await service.ready
    assert service.port is not None
    address: Any = service.port.getHost()
    return RunningServer(service, f"http://127.0.0.1:{address.port}")


async def start_server(
    testcase: TestCase, engine: str, database: str | None = None, **overrides: Any
) -> RunningServer:
    """Start a real server for this test; it is stopped when the test ends."""
    running = await serve(test_config(database or database_url(testcase, engine), **overrides))
    testcase.addCleanup(running.stop)
    return running


@dataclasses.dataclass
class Response:
    status: int
    headers: Any
    raw: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.raw)


class Client:
    """A treq client with a cookie jar, talking to one server."""

    def __init__(self, url: str, cookies: CookieJar | None = None) -> None:
        self.url = url
        self.cookies = CookieJar() if cookies is None else cookies
        pool = HTTPConnectionPool(reactor, persistent=False)
        self._http = HTTPClient(Agent(reactor, pool=pool), cookiejar=self.cookies)  # type: ignore[arg-type]

    def on(self, url: str) -> Client:
        """The same browser (cookie jar) talking to another server of the deployment."""
        return Client(url, self.cookies)

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        kwargs: dict[str, Any] = {"headers": headers or {}}
        if json is not None:
            kwargs["data"] = orjson.dumps(json)
            kwargs["headers"] = {"Content-Type": "application/json", **kwargs["headers"]}
        elif data is not None:
            kwargs["data"] = data
        response = await self._http.request(method, self.url + path, **kwargs)
        raw = await treq.content(response)
        return Response(response.code, response.headers, raw)

    async def get(self, path: str, **kwargs: Any) -> Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Response:
        return await self.request("POST", path, json=json, **kwargs)

    async def register(self, username: str, password: str = "correct horse") -> dict[str, Any]:
        """Register (and so log in) `username`; returns the user object."""
        response = await self.post(
            "/api/auth/register",
            {"username": username, "email": f"{username}@example.org", "password": password},
        )
        assert response.status == 201, (response.status, response.raw)
        result: dict[str, Any] = response.json
        return result

    def session_token(self) -> str | None:
        for cookie in self.cookies:
            if cookie.name == "socialhub_session":
                return cookie.value
        return None


class SqliteEngine:
    """Mix in first to run a test case against SQLite."""

    engine = "sqlite"


class PostgresEngine:
    """Mix in first to run a test case against PostgreSQL."""

    engine = "postgres"
