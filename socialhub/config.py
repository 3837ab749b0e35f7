"""The server's settings: parsed and checked once at start, then one frozen object."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_LISTEN = "tcp:9000:interface=127.0.0.1:backlog=1024"
DEFAULT_DATABASE = "sqlite:socialhub.sqlite3"


class ConfigError(ValueError):
    """A setting that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Config:
    """Every setting of a socialhub process (docs/operations.md lists them)."""

    listen: str = DEFAULT_LISTEN
    database: str = DEFAULT_DATABASE
    redis: str | None = None
    admins: frozenset[str] = frozenset()
    allowed_origins: tuple[str, ...] = ()
    secure_cookies: bool = False
    media_dir: str = "media"
    web_dir: str | None = None  # None: the web client installed with the package
    rate_limit: int = 20
    session_ttl_days: int = 30
    reuse_port: bool = False
    trusted_proxy: str | None = None
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    password_threads: int = 2
    presence_grace: float = 5.0
    presence_refresh: float = 10.0
    presence_expiry: float = 30.0
    log_format: str = "text"
    access_log: bool = False
    metrics_listen: str | None = None  # a listener of this process's own /metrics

    @property
    def session_ttl_seconds(self) -> int:
        return self.session_ttl_days * 86400

    def __post_init__(self) -> None:
        if not (self.database.startswith("sqlite:") or self.is_postgres):
            raise ConfigError(
                "--database must be sqlite:PATH or postgresql://user:password@host:port/dbname"
            )
        if self.reuse_port and not self.redis:
            raise ConfigError("--reuse-port needs --redis: processes sharing a port share a bus")
        if self.redis and not self.is_postgres:
            raise ConfigError("--redis needs a PostgreSQL --database: SQLite serves one process")
        if self.rate_limit < 0:
            raise ConfigError("--rate-limit must be 0 (off) or a positive number")
        if self.session_ttl_days < 1:
            raise ConfigError("--session-ttl must be at least 1 day")
        if self.password_time_cost < 1 or self.password_memory_kib < 8 or self.password_threads < 1:
            raise ConfigError("password hashing costs must be positive (memory at least 8 KiB)")

        if self.log_format not in ("text", "json"):
            raise ConfigError("--log-format must be text or json")
        self._check_presence()

    def _check_presence(self) -> None:
        """The contract: offline within 15 s of the last close, within 60 s of a process's
        death (its expiry, then at most one refresh interval until another process reaps it)."""
        if not 0 <= self.presence_grace <= 10:
            raise ConfigError("--presence-grace must be 0 to 10 seconds")
        if not 0 < self.presence_refresh < self.presence_expiry:
            raise ConfigError("--presence-refresh must be positive and below --presence-expiry")
        if self.presence_expiry + self.presence_refresh > 60:
            raise ConfigError("--presence-expiry plus --presence-refresh must be at most 60 s")

    @property
    def is_postgres(self) -> bool:
        return self.database.startswith(("postgresql://", "postgres://"))


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The `SOCIALHUB_<OPTION>` fallback of a command-line option, if set."""
    environ = os.environ if environ is None else environ
    return environ.get("SOCIALHUB_" + name.upper().replace("-", "_"))


def env_flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_list(value: str) -> Sequence[str]:
    return [item.strip() for item in value.split(",") if item.strip()]
