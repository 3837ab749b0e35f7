"""The wiring of one socialhub process: every part built once, started and stopped in order."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger

from socialhub.auth.passwords import PasswordHasher
from socialhub.bus.interface import Bus
from socialhub.bus.local import LocalBus
from socialhub.config import Config
from socialhub.delivery.connections import Connections
from socialhub.delivery.cork import Cork
from socialhub.delivery.fanout import Fanout
from socialhub.delivery.replay import Replays
from socialhub.handlers.accounts import SESSION_REVOKED, Accounts
from socialhub.handlers.chat import Chat
from socialhub.handlers.chat_batch import ChatBatch
from socialhub.handlers.events import Events
from socialhub.handlers.groups import Groups
from socialhub.handlers.history import History
from socialhub.handlers.media import MediaUploads
from socialhub.handlers.membership import Membership
from socialhub.handlers.notifications import Notifications
from socialhub.handlers.policy import Policy
from socialhub.handlers.posts import Posts
from socialhub.handlers.rate_limit import RateLimiter
from socialhub.handlers.users import Users
from socialhub.http import site
from socialhub.http.api import Api
from socialhub.http.listen import listen
from socialhub.http.rest import accounts as accounts_routes
from socialhub.http.rest import events as events_routes
from socialhub.http.rest import groups as groups_routes
from socialhub.http.rest import media as media_routes
from socialhub.http.rest import messages as messages_routes
from socialhub.http.rest import notifications as notifications_routes
from socialhub.http.rest import operations as operations_routes
from socialhub.http.rest import posts as posts_routes
from socialhub.http.rest import users as users_routes
from socialhub.media.files import MediaFiles
from socialhub.metrics import Metrics
from socialhub.storage.database import DatabaseUnavailable, Transaction
from socialhub.storage.engines import open_database
from socialhub.storage.migrations import migrate
from socialhub.storage.stores.blocks import BlocksStore
from socialhub.storage.stores.events import EventsStore
from socialhub.storage.stores.follows import FollowsStore
from socialhub.storage.stores.groups import GroupsStore
from socialhub.storage.stores.media import MediaStore
from socialhub.storage.stores.messages import MessagesStore
from socialhub.storage.stores.notifications import NotificationsStore
from socialhub.storage.stores.posts import PostsStore
from socialhub.storage.stores.sessions import SessionsStore
from socialhub.storage.stores.stream import StreamStore
from socialhub.storage.stores.users import UsersStore
from socialhub.ws.dispatch import Dispatcher, chat_frames
from socialhub.ws.protocol import Hub, websocket_resource

HEALTH_TIMEOUT = 2.0
SHUTDOWN_CLOSE_SECONDS = 2.0


class Server:
    """Everything one socialhub process is made of."""

    log = Logger()

    def __init__(self, config: Config, reactor: Any) -> None:
        self.config = config
        self.reactor = reactor
        self.metrics = Metrics()
        self.connections = Connections(self.metrics)
        self.database = open_database(reactor, config.database)
        self.hasher = PasswordHasher(
            reactor, config.password_time_cost, config.password_memory_kib, config.password_threads
        )
        self.users = UsersStore(self.database)
        self.sessions = SessionsStore(self.database)
        self.groups = GroupsStore(self.database)
        self.notifications = NotificationsStore(self.database)
        self.membership = Membership(self.groups)
        self.fanout = Fanout(
            self.connections,
            make_bus(config, reactor, self.metrics),
            self.groups.group_ids_of,
            Replays(StreamStore(self.database)),
            reactor,
            self.metrics,
        )
        self.notification_handler = Notifications(self.notifications, self.fanout)
        self.media = MediaUploads(reactor, MediaStore(self.database), MediaFiles(config.media_dir))
        self.follows = FollowsStore(self.database)
        self.blocks = BlocksStore(self.database)
        self.policy = Policy(self.follows)
        self.group_handler = Groups(
            reactor,
            self.groups,
            self.membership,
            self.notification_handler,
            self.fanout,
            self.media.discard,
        )
        # Held while a batch of messages is answered: each connection's acks and deliveries
        # of the batch then leave in one send (ws/direct_write.py).
        self.cork = Cork()
        self.messages = MessagesStore(self.database)
        self.user_handler = Users(
            reactor, self.follows, self.policy, self.notification_handler, self.blocks
        )
        self.accounts = Accounts(
            reactor,
            self.users,
            self.sessions,
            self.hasher,
            admins=config.admins,
            session_ttl=config.session_ttl_seconds,
            delivery=self.fanout,
        )
        chat_batch = ChatBatch(self.messages, reactor, self.fanout, self.cork)
        self.chat = Chat(reactor, chat_batch, self.membership, self.fanout)
        self.dispatcher = Dispatcher(
            chat_frames(self.chat), RateLimiter(reactor, config.rate_limit), self.metrics
        )
        self.api = Api(self.accounts, config.trusted_proxy, config.secure_cookies)
        accounts_routes.register_routes(
            self.api, self.accounts, config.session_ttl_seconds, self.user_handler
        )
        users_routes.register_routes(self.api, self.user_handler)
        history = History(self.messages, self.users, self.membership)
        messages_routes.register_routes(self.api, history)
        groups_routes.register_routes(self.api, self.group_handler)
        events = Events(
            reactor, EventsStore(self.database), self.membership, self.notification_handler
        )
        events_routes.register_routes(self.api, events)
        notifications_routes.register_routes(self.api, self.notification_handler)
        media_routes.register_routes(self.api, self.media)
        posts = Posts(
            reactor,
            PostsStore(self.database),
            self.membership,
            self.notification_handler,
            self.media,
        )
        posts_routes.register_routes(self.api, posts)
        operations_routes.register_routes(self.api, self.check_health, self.metrics)
        origins = frozenset(origin.rstrip("/").lower() for origin in config.allowed_origins)
        hub = Hub(self.accounts, self.fanout, self.dispatcher, origins, self.cork)
        root = site.Root(self.api.resource(), websocket_resource(hub, reactor))
        self.site = site.make_site(root, reactor, self.metrics)

    async def _close_sessions_revoked_meanwhile(self) -> None:
        """After a bus outage: a logout elsewhere could not reach this process's sockets, so
        look up which of their sessions still exist and close the others with 4001."""
        connections = self.connections.all_connections()
        live = await self.sessions.live(sorted({c.session_id for c in connections}))
        for connection in connections:
            if connection.session_id not in live:
                connection.close_with(*SESSION_REVOKED)

    def _recheck_sessions(self) -> None:
        checked = Deferred.fromCoroutine(self._close_sessions_revoked_meanwhile())
        checked.addErrback(lambda failure: self.log.failure("rechecking sessions", failure))

    async def start(self) -> None:
        """Connect to the database, bring its schema up to date, apply the --admin list."""
        self.hasher.start()
        self.media.start()
        await self.database.open()
        await migrate(self.database)
        await self.users.sync_admins(self.config.admins)
        await self.fanout.start()
        self.fanout.bus.on_reconnect(self._recheck_sessions)

    async def stop(self) -> None:
        """Close every WebSocket with 1001, finish the frames in flight, then disconnect."""
        self.connections.close_all(1001, "server shutting down")
        await self.dispatcher.drain()
        closed = self.connections.emptied().addTimeout(SHUTDOWN_CLOSE_SECONDS, self.reactor)
        await closed.addErrback(lambda _: None)  # clients that never answer are cut anyway
        await self.fanout.stop()
        await self.database.close()
        self.hasher.stop()
        self.media.stop()

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
        return {"database": database, "bus": self.fanout.bus.state()}


def exit_with_failure(reactor: Any) -> Callable[[], None]:
    """Stop the reactor and exit 1, so that systemd (Restart=on-failure) sees the failure;
    twistd alone would exit 0 after a stopped reactor."""

    def fail() -> None:
        reactor.addSystemEventTrigger("after", "shutdown", os._exit, 1)
        reactor.stop()

    return fail


def make_bus(config: Config, reactor: Any, metrics: Metrics) -> Bus:
    """Redis pub/sub with --redis; otherwise the in-process bus."""
    if config.redis is None:
        return LocalBus()
    from socialhub.bus.redis import RedisBus  # txredisapi only where it is used

    return RedisBus(reactor, config.redis, metrics)


class SocialHubService(Service):
    """The twistd service: start the Server, then listen; on stop, the reverse."""

    log = Logger()

    def __init__(
        self, config: Config, reactor: Any, start_failed: Callable[[], None] = lambda: None
    ) -> None:
        self.server = Server(config, reactor)
        self._start_failed = start_failed
        self._reactor = reactor
        self.port: IListeningPort | None = None
        self.ready: Deferred[None] = Deferred()

    def startService(self) -> None:
        super().startService()
        Deferred.fromCoroutine(self._start()).chainDeferred(self.ready)

    async def _start(self) -> None:
        try:
            await self.server.start()
            config = self.server.config
            self.port = await listen(
                self._reactor, config.listen, self.server.site, config.reuse_port
            )
        except DatabaseUnavailable as error:
            self.log.error("socialhub cannot start: {error}", error=error)
            self._start_failed()
            raise
        except Exception:
            self.log.failure("socialhub cannot start")
            self._start_failed()
            raise
        # What exists now (modules, the app, the schema) lives as long as the process: keep it
        # out of the collector's full passes, which otherwise traverse it all and stalled the
        # reactor long enough to triple the p99 latency of messages at 2,000 msg/s.
        gc.freeze()
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
