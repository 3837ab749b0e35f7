"""The wiring of one socialhub process: every part built once, started and stopped in order."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from dataclasses import dataclass

from twisted.application.service import Service
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from socialhub import __version__
from socialhub.auth.passwords import PasswordHasher
from socialhub.bus.interface import Bus
from socialhub.bus.local import LocalBus
from socialhub.config import Config
from socialhub.delivery.connections import Connections
from socialhub.delivery.cork import Cork
from socialhub.delivery.fanout import Fanout
from socialhub.delivery.presence import PresenceTiming
from socialhub.delivery.replay import Replays
from socialhub.handlers.account_deletion import AccountDeletion
from socialhub.handlers.account_export import AccountExport
from socialhub.handlers.account_links import AccountLinks
from socialhub.handlers.accounts import Accounts
from socialhub.handlers.administration import Administration
from socialhub.handlers.chat import Chat
from socialhub.handlers.chat_batch import ChatBatch
from socialhub.handlers.conversations import Conversations
from socialhub.handlers.events import Events
from socialhub.handlers.groups import Groups
from socialhub.handlers.history import History
from socialhub.handlers.media import MediaUploads
from socialhub.handlers.membership import Membership
from socialhub.handlers.message_changes import MessageChanges
from socialhub.handlers.notifications import Notifications
from socialhub.handlers.policy import Policy
from socialhub.handlers.posts import Posts
from socialhub.handlers.rate_limit import LimitSettings, RateLimits
from socialhub.handlers.registration import Registration, RegistrationSettings
from socialhub.handlers.reports import Reports
from socialhub.handlers.typing import Typing
from socialhub.handlers.users import Users
from socialhub.http import site
from socialhub.http.api import Api
from socialhub.http.channel import Deadlines
from socialhub.http.listen import listen
from socialhub.http.rest import account_data as account_data_routes
from socialhub.http.rest import account_links as account_links_routes
from socialhub.http.rest import accounts as accounts_routes
from socialhub.http.rest import admin as admin_routes
from socialhub.http.rest import conversations as conversations_routes
from socialhub.http.rest import events as events_routes
from socialhub.http.rest import groups as groups_routes
from socialhub.http.rest import media as media_routes
from socialhub.http.rest import messages as messages_routes
from socialhub.http.rest import notifications as notifications_routes
from socialhub.http.rest import openapi as openapi_routes
from socialhub.http.rest import operations as operations_routes
from socialhub.http.rest import posts as posts_routes
from socialhub.http.rest import registration as registration_routes
from socialhub.http.rest import reports as reports_routes
from socialhub.http.rest import users as users_routes
from socialhub.http.web import web_resources
from socialhub.mail.smtp import SmtpMailer
from socialhub.media.files import MediaFiles
from socialhub.metrics import Metrics
from socialhub.reactor import Reactor
from socialhub.storage.database import Database, DatabaseUnavailable, Transaction
from socialhub.storage.engines import open_database
from socialhub.storage.migrations import Migrated, migrate
from socialhub.storage.stores.account_deletion import AccountDeletionStore
from socialhub.storage.stores.account_export import AccountExportStore
from socialhub.storage.stores.account_tokens import AccountTokensStore
from socialhub.storage.stores.administration import AdministrationStore
from socialhub.storage.stores.audit import AuditStore
from socialhub.storage.stores.blocks import BlocksStore
from socialhub.storage.stores.conversations import ConversationsStore
from socialhub.storage.stores.events import EventsStore
from socialhub.storage.stores.follows import FollowsStore
from socialhub.storage.stores.groups import GroupsStore
from socialhub.storage.stores.media import MediaStore
from socialhub.storage.stores.message_changes import MessageChangesStore
from socialhub.storage.stores.messages import MessagesStore
from socialhub.storage.stores.notifications import NotificationsStore
from socialhub.storage.stores.posts import PostsStore
from socialhub.storage.stores.presence import PresenceStore
from socialhub.storage.stores.registration_tokens import RegistrationTokensStore
from socialhub.storage.stores.reports import ReportsStore
from socialhub.storage.stores.sessions import SessionsStore
from socialhub.storage.stores.stream import StreamStore
from socialhub.storage.stores.users import UsersStore
from socialhub.storage.timed import TimedDatabase
from socialhub.ws.dispatch import Dispatcher, chat_frames
from socialhub.ws.protocol import Hub, websocket_resource

HEALTH_TIMEOUT = 2.0
SHUTDOWN_CLOSE_SECONDS = 2.0


@dataclass(frozen=True)
class Stores:
    """The storage layer: one store per area, all over the one database."""

    users: UsersStore
    sessions: SessionsStore
    groups: GroupsStore
    notifications: NotificationsStore
    follows: FollowsStore
    blocks: BlocksStore
    messages: MessagesStore
    message_changes: MessageChangesStore
    conversations: ConversationsStore
    media: MediaStore
    events: EventsStore
    posts: PostsStore
    stream: StreamStore
    presence: PresenceStore
    registration_tokens: RegistrationTokensStore
    account_tokens: AccountTokensStore
    account_deletion: AccountDeletionStore
    account_export: AccountExportStore
    administration: AdministrationStore
    audit: AuditStore
    reports: ReportsStore

    @classmethod
    def over(cls, database: Database) -> Stores:
        return cls(
            users=UsersStore(database),
            sessions=SessionsStore(database),
            groups=GroupsStore(database),
            notifications=NotificationsStore(database),
            follows=FollowsStore(database),
            blocks=BlocksStore(database),
            messages=MessagesStore(database),
            message_changes=MessageChangesStore(database),
            conversations=ConversationsStore(database),
            media=MediaStore(database),
            events=EventsStore(database),
            posts=PostsStore(database),
            stream=StreamStore(database),
            presence=PresenceStore(database),
            registration_tokens=RegistrationTokensStore(database),
            account_tokens=AccountTokensStore(database),
            account_deletion=AccountDeletionStore(database),
            account_export=AccountExportStore(database),
            administration=AdministrationStore(database),
            audit=AuditStore(database),
            reports=ReportsStore(database),
        )


@dataclass(frozen=True)
class Outbound:
    """The delivery layer: this process's open connections, the fan-out over the bus (and the
    bus), and the cork held while a batch of messages is answered (each connection's acks and
    deliveries of the batch then leave in one send)."""

    connections: Connections
    fanout: Fanout
    bus: Bus
    cork: Cork


@dataclass(frozen=True)
class Handlers:
    """The handlers: every rule, one object per area."""

    accounts: Accounts
    registration: Registration
    account_links: AccountLinks
    users: Users
    policy: Policy
    membership: Membership
    groups: Groups
    notifications: Notifications
    media: MediaUploads
    chat: Chat
    typing: Typing
    message_changes: MessageChanges
    history: History
    conversations: Conversations
    events: Events
    posts: Posts
    account_deletion: AccountDeletion
    account_export: AccountExport
    reports: Reports
    administration: Administration


class Server:
    """Everything one socialhub process is made of, built once, layer by layer: storage, then
    delivery, then the handlers, then the edges (the HTTP routes and the WebSocket endpoint)."""

    log = Logger()

    def __init__(self, config: Config, reactor: Reactor) -> None:
        self.config = config
        self.reactor = reactor
        self.metrics = Metrics()
        self.schema: Migrated | None = None  # what the migrations did, once started
        self.database: Database = TimedDatabase(
            open_database(reactor, config.database), self.metrics.database_latency
        )
        self.hasher = PasswordHasher(
            reactor, config.password_time_cost, config.password_memory_kib, config.password_threads
        )
        self.stores = Stores.over(self.database)
        self.mailer = SmtpMailer(reactor, config.smtp, config.mail_from) if config.smtp else None
        self.delivery = self._outbound(config, reactor)
        self.handlers = self._handlers(config, reactor)
        settings = LimitSettings(
            config.rate_limit, config.rest_rate_limit, config.address_rate_limit
        )
        self.limits = RateLimits(reactor, settings, self.delivery.bus.buckets())
        self.dispatcher = Dispatcher(
            chat_frames(self.handlers.chat, self.handlers.typing, self.handlers.message_changes),
            self.limits,
            self.metrics,
        )
        self.api = self._api(config)
        origins = frozenset(origin.rstrip("/").lower() for origin in config.allowed_origins)
        fanout, cork = self.delivery.fanout, self.delivery.cork
        hub = Hub(
            self.handlers.accounts, fanout, self.dispatcher, origins, cork, config.trusted_proxy
        )
        self.web = web_resources(config.web_dir, self.handlers.accounts)
        websocket = websocket_resource(hub, reactor, config.header_timeout)
        root = site.Root(self.api.resource(), websocket, self.web)
        deadlines = Deadlines(config.header_timeout, config.body_timeout)
        self.site = site.make_site(
            root, reactor, self.metrics, deadlines, config.trusted_proxy, config.access_log
        )
        self.metrics_site = site.metrics_site(self.metrics, reactor)
        self._session_checks = LoopingCall(self._recheck_sessions)
        self._session_checks.clock = reactor
        self._session_checks_done: Deferred[LoopingCall] | None = None

    def _outbound(self, config: Config, reactor: Reactor) -> Outbound:
        connections = Connections(self.metrics, config.max_sockets)
        bus = make_bus(config, reactor, self.metrics)
        self.metrics.bus_up.set_function(lambda: float(bus.state() != "down"))
        fanout = Fanout(
            connections,
            bus,
            self.stores.groups.group_ids_of,
            Replays(self.stores.stream),
            reactor,
            self.metrics,
            self.stores.presence,
            PresenceTiming(config.presence_grace, config.presence_refresh, config.presence_expiry),
        )
        return Outbound(connections, fanout, bus, Cork())

    def _handlers(self, config: Config, reactor: Reactor) -> Handlers:
        stores, fanout = self.stores, self.delivery.fanout
        membership = Membership(stores.groups)
        notifications = Notifications(stores.notifications, fanout)
        media = MediaUploads(reactor, stores.media, MediaFiles(config.media_dir))
        policy = Policy(stores.follows)
        batch = ChatBatch(stores.messages, reactor, fanout, self.delivery.cork)
        accounts = Accounts(
            reactor,
            stores.users,
            stores.sessions,
            self.hasher,
            session_ttl=config.session_ttl_seconds,
            delivery=fanout,
            require_verification=config.require_email_verification,
        )
        links = AccountLinks(
            reactor,
            stores.users,
            stores.account_tokens,
            self.hasher,
            fanout,
            self.mailer,
            config.base_url,
        )
        settings = RegistrationSettings(
            config.registration, config.admins, config.require_email_verification
        )
        message_changes = MessageChanges(reactor, stores.message_changes, fanout)
        return Handlers(
            accounts=accounts,
            registration=Registration(
                reactor,
                stores.users,
                stores.registration_tokens,
                self.hasher,
                accounts,
                links,
                settings,
            ),
            account_links=links,
            users=Users(
                reactor,
                stores.follows,
                policy,
                notifications,
                stores.blocks,
                stores.presence,
                fanout,
            ),
            policy=policy,
            membership=membership,
            groups=Groups(reactor, stores.groups, membership, notifications, fanout, media.discard),
            notifications=notifications,
            media=media,
            chat=Chat(reactor, batch, membership, fanout, stores.users),
            typing=Typing(reactor, stores.messages, membership, fanout),
            message_changes=message_changes,
            history=History(stores.messages, stores.message_changes, stores.users, membership),
            conversations=Conversations(stores.conversations, stores.users, membership, fanout),
            events=Events(reactor, stores.events, membership, notifications),
            posts=Posts(reactor, stores.posts, membership, notifications, media),
            account_deletion=AccountDeletion(
                reactor, stores.account_deletion, accounts, fanout, media.discard
            ),
            account_export=AccountExport(stores.account_export),
            reports=Reports(reactor, stores.reports),
            administration=Administration(
                reactor,
                stores.administration,
                stores.audit,
                stores.reports,
                self.hasher,
                fanout,
                message_changes,
                media,
            ),
        )

    def _api(self, config: Config) -> Api:
        """The REST edge: every area's routes on one Api."""
        handlers = self.handlers
        api = Api(handlers.accounts, self.limits, config.trusted_proxy, config.secure_cookies)
        accounts_routes.register_routes(
            api,
            handlers.accounts,
            handlers.registration,
            config.session_ttl_seconds,
            handlers.users,
        )
        registration_routes.register_routes(api, handlers.registration)
        account_links_routes.register_routes(api, handlers.account_links)
        users_routes.register_routes(api, handlers.users)
        account_data_routes.register_routes(api, handlers.account_export, handlers.account_deletion)
        messages_routes.register_routes(api, handlers.history)
        conversations_routes.register_routes(api, handlers.conversations)
        groups_routes.register_routes(api, handlers.groups)
        events_routes.register_routes(api, handlers.events)
        notifications_routes.register_routes(api, handlers.notifications)
        media_routes.register_routes(api, handlers.media)
        posts_routes.register_routes(api, handlers.posts)
        reports_routes.register_routes(api, handlers.reports)
        admin_routes.register_routes(api, handlers.administration, handlers.account_deletion)
        operations_routes.register_routes(api, self.check_health, self.metrics)
        openapi_routes.register_routes(api)
        return api

    def _recheck_sessions(self) -> Deferred[None]:
        """Close the sockets whose session was revoked where this process did not hear of it:
        by a process while the bus was down, or by socialhub-admin, which has no bus. Run when
        the bus is back and every `session_check_interval` seconds (see Accounts)."""
        checked = Deferred.fromCoroutine(self.handlers.accounts.close_revoked_sessions())
        return checked.addErrback(lambda failure: self.log.failure("rechecking sessions", failure))

    async def start(self) -> None:
        """Connect to the database, bring its schema up to date, grant the --admin list."""
        self.hasher.start()
        self.handlers.media.start()
        await self.database.open()
        self.schema = await migrate(self.database)
        await self.handlers.administration.grant_admins(self.config.admins)
        await self.delivery.fanout.start()
        self.delivery.bus.on_reconnect(self._recheck_sessions)
        self._session_checks_done = self._session_checks.start(
            self.config.session_check_interval, now=False
        )

    async def stop(self) -> None:
        """Close every WebSocket with 1001, finish the frames in flight, then disconnect."""
        if self._session_checks.running:
            self._session_checks.stop()
        if self._session_checks_done is not None:
            await self._session_checks_done  # a check under way ends before the database
        self.delivery.connections.close_all(1001, "server shutting down")
        await self.dispatcher.drain()
        closed = self.delivery.connections.emptied().addTimeout(
            SHUTDOWN_CLOSE_SECONDS, self.reactor
        )
        await closed.addErrback(lambda _: None)  # clients that never answer are cut anyway
        self.limits.stop()
        await self.delivery.fanout.stop()
        if self.mailer is not None:
            await self.mailer.stop()
        await self.database.close()
        self.hasher.stop()
        self.handlers.media.stop()

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
        return {"database": database, "bus": self.delivery.bus.state()}


def _shown(address: object) -> str:
    """A listening address as `HOST:PORT` (a TCP one), or as Twisted writes it."""
    if isinstance(address, IPv4Address | IPv6Address):
        return f"{address.host}:{address.port}"
    return str(address)


def exit_with_failure(reactor: Reactor) -> Callable[[], None]:
    """Stop the reactor and exit 1, so that systemd (Restart=on-failure) sees the failure;
    twistd alone would exit 0 after a stopped reactor."""

    def fail() -> None:
        reactor.addSystemEventTrigger("after", "shutdown", os._exit, 1)
        reactor.stop()

    return fail


def make_bus(config: Config, reactor: Reactor, metrics: Metrics) -> Bus:
    """Redis pub/sub with --redis; otherwise the in-process bus."""
    if config.redis is None:
        return LocalBus()
    from socialhub.bus.redis import RedisBus  # txredisapi only where it is used

    return RedisBus(reactor, config.redis, metrics)


class SocialHubService(Service):
    """The twistd service: start the Server, then listen; on stop, the reverse."""

    log = Logger()

    def __init__(
        self, config: Config, reactor: Reactor, start_failed: Callable[[], None] = lambda: None
    ) -> None:
        self.server = Server(config, reactor)
        self._start_failed = start_failed
        self._reactor = reactor
        self.port: IListeningPort | None = None
        self.metrics_port: IListeningPort | None = None
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
            if config.metrics_listen is not None:
                self.metrics_port = await listen(
                    self._reactor, config.metrics_listen, self.server.metrics_site, False
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
        self._log_started()
        if self.metrics_port is not None:
            self.log.info("/metrics on {address}", address=_shown(self.metrics_port.getHost()))

    def _log_started(self) -> None:
        """One line saying what runs: the version, where it listens, its database (never its
        password), its bus and what the migrations did at this start."""
        config, schema = self.server.config, self.server.schema
        assert self.port is not None and schema is not None
        self.log.info(
            "socialhub listening on {address}; version {version}; database {database}; bus {bus};"
            " migrations applied at this start: {applied} (schema version {schema_version})",
            version=__version__,
            address=_shown(self.port.getHost()),
            database=config.database_shown,
            bus=config.bus_shown,
            applied=", ".join(f"{version:04d}" for version in schema.applied) or "none",
            schema_version=schema.version,
        )

    def stopService(self) -> Deferred[None]:
        super().stopService()
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        for port in (self.port, self.metrics_port):
            if port is not None:
                stopped = port.stopListening()
                if stopped is not None:
                    await stopped
        await self.server.stop()
