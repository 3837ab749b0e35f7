"""The wiring of one socialhub process: every part built once, started and stopped in order."""

from __future__ import annotations

from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger

from socialhub.auth.passwords import PasswordHasher
from socialhub.config import Config
from socialhub.handlers.accounts import Accounts
from socialhub.http import site
from socialhub.http.api import Api
from socialhub.http.rest import accounts as accounts_routes
from socialhub.http.rest import operations as operations_routes
from socialhub.metrics import Metrics
from socialhub.router.registry import Router
from socialhub.storage.database import DatabaseUnavailable, Transaction
from socialhub.storage.engines import open_database
from socialhub.storage.migrations import migrate
from socialhub.storage.stores.sessions import SessionsStore
from socialhub.storage.stores.users import UsersStore

HEALTH_TIMEOUT = 2.0


class Server:
    """Everything one socialhub process is made of."""

    def __init__(self, config: Config, reactor: Any) -> None:
        self.config = config
        self.reactor = reactor
        self.metrics = Metrics()
        self.router = Router(self.metrics)
        self.database = open_database(reactor, config.database)
        self.hasher = PasswordHasher(
            reactor, config.password_time_cost, config.password_memory_kib, config.password_threads
        )
        self.users = UsersStore(self.database)
        self.sessions = SessionsStore(self.database)
        self.accounts = Accounts(
            reactor,
            self.users,
            self.sessions,
            self.hasher,
            admins=config.admins,
            session_ttl=config.session_ttl_seconds,
            sessions_revoked=self._close_revoked_sessions,
        )
        self.api = Api(self.accounts, config.trusted_proxy, config.secure_cookies)
        accounts_routes.register_routes(self.api, self.accounts, config.session_ttl_seconds)
        operations_routes.register_routes(self.api, self.check_health, self.metrics)
        self.site = site.make_site(site.Root(self.api.resource()), reactor, self.metrics)

    def _close_revoked_sessions(self, session_ids: list[int]) -> None:
        self.router.close_sessions(session_ids, 4001, "session revoked")

    async def start(self) -> None:
        """Connect to the database, bring its schema up to date, apply the --admin list."""
        self.hasher.start()
        await self.database.open()
        await migrate(self.database)
        await self.users.sync_admins(self.config.admins)

    async def stop(self) -> None:
        await self.database.close()
        self.hasher.stop()

    async def check_health(self) -> dict[str, str]:
        """The state of each backing service, as /healthz reports it."""

        async def ping(txn: Transaction) -> None:
            await txn.fetch("SELECT 1")

        try:
            probe = Deferred.fromCoroutine(self.database.interaction("health", ping))
            await probe.addTimeout(HEALTH_TIMEOUT, self.reactor)
            database = "ok"
        except Exception:
            database = "down"
        return {"database": database, "bus": "disabled"}


class SocialHubService(Service):
    """The twistd service: start the Server, then listen; on stop, the reverse."""

    log = Logger()

    def __init__(self, config: Config, reactor: Any) -> None:
        self.server = Server(config, reactor)
        self._reactor = reactor
        self.port: IListeningPort | None = None
        self.ready: Deferred[None] = Deferred()

    def startService(self) -> None:
        super().startService()
        Deferred.fromCoroutine(self._start()).chainDeferred(self.ready)

    async def _start(self) -> None:
        try:
            await self.server.start()
            endpoint = serverFromString(self._reactor, self.server.config.listen)
            self.port = await endpoint.listen(self.server.site)
        except DatabaseUnavailable as error:
            self.log.error("socialhub cannot start: {error}", error=error)
            self._reactor.stop()
            raise
        except Exception:
            self.log.failure("socialhub cannot start")
            self._reactor.stop()
            raise
        self.log.info("socialhub listening on {address}", address=self.port.getHost())

    def stopService(self) -> Deferred[None]:
        super().stopService()
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        if self.port is not None:
            stopped = self.port.stopListening()
            if stopped is not None:
                await stopped
        await self.server.stop()
