"""The server's settings: parsed and checked once at start, then one frozen object."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

DEFAULT_LISTEN = "tcp:9000:interface=127.0.0.1:backlog=1024"
DEFAULT_DATABASE = "sqlite:socialhub.sqlite3"
REGISTRATION_MODES = ("open", "token", "closed")
DEFAULT_MAIL_FROM = "socialhub@localhost"


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
    rest_rate_limit: int = 120
    address_rate_limit: int = 10
    max_sockets: int = 20  # open WebSockets per user and process; 0: no cap
    header_timeout: float = 10.0  # seconds for a request's line and headers, from its first byte
    body_timeout: float = 60.0  # seconds for a request's body, from the end of its headers
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
    registration: str = "open"  # open, token (an administrator's token needed) or closed
    smtp: str | None = None  # smtp://user:password@host:port or smtps://...; None: no mail
    mail_from: str = DEFAULT_MAIL_FROM
    public_url: str | None = None  # the base of links in mail; None: derived from listen
    require_email_verification: bool = False
    # How often open sockets' sessions are checked (seconds); not an option: tests lower it.
    session_check_interval: float = 5.0

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
        for name, value in (
            ("rate-limit", self.rate_limit),
            ("rest-rate-limit", self.rest_rate_limit),
            ("address-rate-limit", self.address_rate_limit),
        ):
            if value < 0:
                raise ConfigError(f"--{name} must be 0 (off) or a positive number")
        if self.rate_limit < 0:
            raise ConfigError("--rate-limit must be 0 (off) or a positive number")
        if self.max_sockets < 0:
            raise ConfigError("--max-sockets must be 0 (no cap) or a positive number")
        if self.header_timeout <= 0 or self.body_timeout <= 0:
            raise ConfigError("--header-timeout and --body-timeout must be positive")
        if self.session_ttl_days < 1:
            raise ConfigError("--session-ttl must be at least 1 day")
        if self.password_time_cost < 1 or self.password_memory_kib < 8 or self.password_threads < 1:
            raise ConfigError("password hashing costs must be positive (memory at least 8 KiB)")

        if self.log_format not in ("text", "json"):
            raise ConfigError("--log-format must be text or json")
        self._check_presence()
        self._check_registration()

    def _check_registration(self) -> None:
        if self.registration not in REGISTRATION_MODES:
            raise ConfigError("--registration must be open, token or closed")
        if self.smtp is not None and urlsplit(self.smtp).scheme not in ("smtp", "smtps"):
            raise ConfigError("--smtp must be smtp://[user:password@]host[:port] or smtps://...")
        if self.smtp is not None and not urlsplit(self.smtp).hostname:
            raise ConfigError("--smtp must name a host")
        if self.require_email_verification and self.smtp is None:
            raise ConfigError("--require-email-verification needs --smtp: the link goes by mail")
        if self.public_url is not None and urlsplit(self.public_url).scheme not in (
            "http",
            "https",
        ):
            raise ConfigError("--public-url must be an http:// or https:// URL")

    @property
    def base_url(self) -> str:
        """Where the web client is reached, for links in mail: --public-url, or else the
        address a tcp: or ssl: --listen names (its interface unless a wildcard, else
        localhost); http://localhost for any other endpoint."""
        if self.public_url is not None:
            return self.public_url.rstrip("/")
        kind, _, rest = self.listen.partition(":")
        port, *fields = rest.split(":")
        if kind not in ("tcp", "ssl") or not port.isdigit():
            return "http://localhost"
        options = dict(field.split("=", 1) for field in fields if "=" in field)
        host = options.get("interface", "")
        host = "localhost" if host in ("", "0.0.0.0", "::") else host  # noqa: S104
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if kind == 'ssl' else 'http'}://{host}:{port}"

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

    @property
    def database_shown(self) -> str:
        """The database as a log line may show it: engine and location, no password."""
        if self.is_postgres:
            return without_password(self.database)
        return "sqlite:" + os.path.abspath(self.database.removeprefix("sqlite:"))

    @property
    def bus_shown(self) -> str:
        """`local` (in-process), or the Redis URL without its password."""
        return "local" if self.redis is None else without_password(self.redis)


def without_password(url: str) -> str:
    """`url` without the password of its user part or of a `password=` query parameter."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    user = parts.username
    netloc = f"{user}@{host}" if user else host
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


ENV_PREFIX = "SOCIALHUB_"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def env_name(name: str) -> str:
    """The environment variable of option `name`: `rate-limit` is `SOCIALHUB_RATE_LIMIT`."""
    return ENV_PREFIX + name.upper().replace("-", "_")


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The `SOCIALHUB_<OPTION>` fallback of a command-line option, if set."""
    environ = os.environ if environ is None else environ
    return environ.get(env_name(name))


def check_environment(environ: Mapping[str, str], names: Collection[str]) -> None:
    """Refuse a `SOCIALHUB_*` variable that names no option: a misspelt one would otherwise
    be ignored without a word."""
    known = {env_name(name) for name in names}
    for variable in sorted(environ):
        if variable.startswith(ENV_PREFIX) and variable not in known:
            raise ConfigError(f"{variable}: no such option (unknown SOCIALHUB_* variable)")


def env_flag(name: str, value: str) -> bool:
    """A flag's environment value: on or off, and anything else refused."""
    word = value.strip().lower()
    if word not in _TRUE + _FALSE:
        raise ConfigError(
            f"{env_name(name)}: {value!r} is not a boolean (1, true, yes, on or 0, false, no, off)"
        )
    return word in _TRUE


def env_list(value: str) -> Sequence[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def read_file(path: str, names: Collection[str]) -> dict[str, object]:
    """The options of a `--config` TOML file, keyed by option name; a key that names no
    option is refused, as a misspelt one would otherwise be ignored."""
    try:
        with open(path, "rb") as file:
            table = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"--config {path}: {error}") from None
    for key in table:
        if key not in names:
            raise ConfigError(f"--config {path}: {key!r} is not an option")
    return table
