"""`twistd socialhub`: the command-line options and the service they build."""

from __future__ import annotations

import resource
from collections.abc import Callable, Mapping
from typing import Any

from twisted.application.service import IService
from twisted.python import usage

from socialhub.config import (
    DEFAULT_DATABASE,
    DEFAULT_LISTEN,
    Config,
    ConfigError,
    env_flag,
    env_list,
    env_value,
)

# name, default, parser, help. Defaults apply only when neither the command line nor the
# SOCIALHUB_<NAME> environment variable gives a value.
_PARAMETERS: list[tuple[str, object, Callable[[str], object], str]] = [
    ("listen", DEFAULT_LISTEN, str, "Twisted endpoint string to listen on"),
    ("database", DEFAULT_DATABASE, str, "sqlite:PATH or postgresql://user:pw@host:port/db"),
    ("redis", None, str, "redis://host:port/db: enables the cross-process bus"),
    ("media-dir", "media", str, "directory for uploaded images"),
    ("web-dir", None, str, "serve the web client from this directory (default: the installed one)"),
    ("rate-limit", 20, int, "frames per second per user (bursts 2.5x); 0 turns it off"),
    ("session-ttl", 30, int, "days a session lives without use"),
    ("trusted-proxy", None, str, "address of a proxy whose X-Forwarded-For is believed"),
    ("password-time-cost", 3, int, "argon2id time cost (iterations)"),
    ("password-memory-kib", 65536, int, "argon2id memory cost in KiB"),
    ("password-threads", 2, int, "threads hashing passwords at once"),
    ("presence-grace", 5.0, float, "seconds a user stays online after their last socket closed"),
    ("presence-refresh", 10.0, float, "seconds between a process's presence refreshes in Redis"),
    ("presence-expiry", 30.0, float, "seconds without a refresh before a process counts as dead"),
]
_FLAGS = [
    ("secure-cookies", "mark the session cookie Secure (serve over TLS)"),
    ("reuse-port", "share the tcp: port with other processes (SO_REUSEPORT); needs --redis"),
]
_LISTS = [
    ("admin", "make USERNAME an administrator; never revokes (repeatable)"),
    ("allowed-origin", "a browser Origin allowed besides the server's own (repeatable)"),
]


class Options(usage.Options):
    """socialhub's options; each falls back to the environment variable SOCIALHUB_<OPTION>."""

    optParameters = [[name, None, None, text] for name, _, _, text in _PARAMETERS]
    optFlags = [[name, None, text] for name, text in _FLAGS]

    def __init__(self) -> None:
        super().__init__()
        self.lists: dict[str, list[str]] = {name: [] for name, _ in _LISTS}

    def opt_admin(self, username: str) -> None:
        """Make USERNAME an administrator (repeatable); it never revokes the role."""
        self.lists["admin"].append(username)

    def opt_allowed_origin(self, origin: str) -> None:
        """A browser Origin allowed besides the server's own (repeatable)."""
        self.lists["allowed-origin"].append(origin)

    def postOptions(self) -> None:
        try:
            self["config"] = self.to_config()
        except (ConfigError, ValueError) as error:
            raise usage.UsageError(str(error)) from error

    def to_config(self, environ: Mapping[str, str] | None = None) -> Config:
        """Merge command line, environment and defaults into a checked Config."""
        values: dict[str, Any] = {}
        for name, default, parse, _ in _PARAMETERS:
            raw = self[name] if self[name] is not None else env_value(name, environ)
            values[name] = default if raw is None else _parse(name, raw, parse)
        for name, _ in _FLAGS:
            raw = env_value(name, environ)
            values[name] = bool(self[name]) or (raw is not None and env_flag(raw))
        for name, _ in _LISTS:
            raw = env_value(name, environ)
            values[name] = self.lists[name] or (env_list(raw) if raw else [])
        return Config(
            listen=values["listen"],
            database=values["database"],
            redis=values["redis"],
            admins=frozenset(name.lower() for name in values["admin"]),
            allowed_origins=tuple(values["allowed-origin"]),
            secure_cookies=values["secure-cookies"],
            media_dir=values["media-dir"],
            web_dir=values["web-dir"],
            rate_limit=values["rate-limit"],
            session_ttl_days=values["session-ttl"],
            reuse_port=values["reuse-port"],
            trusted_proxy=values["trusted-proxy"],
            password_time_cost=values["password-time-cost"],
            password_memory_kib=values["password-memory-kib"],
            password_threads=values["password-threads"],
            presence_grace=values["presence-grace"],
            presence_refresh=values["presence-refresh"],
            presence_expiry=values["presence-expiry"],
        )


def _parse(name: str, raw: str, parse: Callable[[str], object]) -> object:
    try:
        return parse(raw)
    except ValueError:
        raise ConfigError(f"--{name}: {raw!r} is not a valid value") from None


def raise_open_file_limit() -> None:
    """Lift the soft open-file limit to the hard one: every WebSocket holds a descriptor."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def makeService(options: Options) -> IService:
    """Build the socialhub service from parsed options (twistd calls this)."""
    from twisted.internet import reactor

    from socialhub.reactor import as_reactor
    from socialhub.server import SocialHubService, exit_with_failure

    raise_open_file_limit()
    running = as_reactor(reactor)
    return SocialHubService(options["config"], running, exit_with_failure(running))
