"""`twistd socialhub`: the command-line options and the service they build."""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Callable, Mapping
from typing import Any

from twisted.application.service import IService, MultiService
from twisted.logger import ILogObserver
from twisted.python import usage
from twisted.python.components import Componentized

from socialhub import __version__
from socialhub.config import (
    DEFAULT_DATABASE,
    DEFAULT_LISTEN,
    DEFAULT_MAIL_FROM,
    Config,
    ConfigError,
    check_environment,
    env_flag,
    env_list,
    env_name,
    env_value,
    read_file,
)
from socialhub.http.listen import check_listen
from socialhub.logs import json_lines_observer

# name, default, parser, help. Each option is taken from the command line, else the
# SOCIALHUB_<NAME> environment variable, else the --config file, else this default.
_PARAMETERS: list[tuple[str, object, Callable[[str], object], str]] = [
    ("listen", DEFAULT_LISTEN, str, "Twisted endpoint string to listen on"),
    ("database", DEFAULT_DATABASE, str, "sqlite:PATH or postgresql://user:pw@host:port/db"),
    ("redis", None, str, "redis://host:port/db: enables the cross-process bus"),
    ("media-dir", "media", str, "directory for uploaded images"),
    ("web-dir", None, str, "serve the web client from this directory, not the installed one"),
    ("rate-limit", 20, int, "frames per second per user (bursts 2.5x); 0 turns it off"),
    ("rest-rate-limit", 120, int, "state-changing requests a minute per user; 0 turns it off"),
    ("address-rate-limit", 10, int, "users' worth of frames and requests per address; 0: off"),
    ("max-sockets", 20, int, "open WebSockets per user (per process); a new one closes the oldest"),
    ("header-timeout", 10.0, float, "seconds a request's line and headers may take to arrive"),
    ("body-timeout", 60.0, float, "seconds a request's body may take to arrive"),
    ("session-ttl", 30, int, "days a session lives without use"),
    ("trusted-proxy", None, str, "address of a proxy whose X-Forwarded-For is believed"),
    ("password-time-cost", 3, int, "argon2id time cost (iterations)"),
    ("password-memory-kib", 65536, int, "argon2id memory cost in KiB"),
    ("password-threads", 2, int, "threads hashing passwords at once"),
    ("presence-grace", 5.0, float, "seconds a user stays online after their last socket closed"),
    ("presence-refresh", 10.0, float, "seconds between a process's presence refreshes in Redis"),
    ("presence-expiry", 30.0, float, "seconds without a refresh before a process counts as dead"),
    ("log-format", "text", str, "text, or json: one JSON object per line on standard output"),
    ("metrics-listen", None, str, "endpoint of a listener serving this process's own /metrics"),
    ("registration", "open", str, "who may register: open, token (an admin's token) or closed"),
    ("smtp", None, str, "smtp://user:password@host:port or smtps://...: sends account mail"),
    ("mail-from", DEFAULT_MAIL_FROM, str, "the sender address of account mail"),
    ("public-url", None, str, "the server's public base URL, for links in mail"),
]
# name, help; a flag is off unless set.
_FLAGS = [
    ("secure-cookies", "mark the session cookie Secure (serve over TLS)"),
    ("reuse-port", "share the tcp: port with other processes (SO_REUSEPORT); needs --redis"),
    ("access-log", "log one line per HTTP request (path without its query string)"),
    ("require-email-verification", "new accounts verify their email before logging in"),
]
# name, help; a list is empty unless given.
_LISTS = [
    ("admin", "make USERNAME an administrator; never revokes (repeatable)"),
    ("allowed-origin", "a browser Origin allowed besides the server's own (repeatable)"),
]
_FILE_OPTIONS = {name for name, *_ in _PARAMETERS + _FLAGS + _LISTS}
_OPTIONS = _FILE_OPTIONS | {"config"}


def _with_default(text: str, default: object) -> str:
    return f"{text} (default: {'none' if default is None else default})"


class Options(usage.Options):
    """socialhub's options: command line, then SOCIALHUB_<OPTION>, then --config, then default."""

    optParameters = [
        [name, None, None, _with_default(text, default)] for name, default, _, text in _PARAMETERS
    ]
    optFlags = [[name, None, _with_default(text, "off")] for name, text in _FLAGS]

    def __init__(self) -> None:
        super().__init__()
        self.lists: dict[str, list[str]] = {name: [] for name, _ in _LISTS}
        self.config_path: str | None = None

    def opt_config(self, path: str) -> None:
        """Read options from this TOML file, keys named as the options; the environment and
        the command line override it (default: none)."""
        self.config_path = path

    def opt_admin(self, username: str) -> None:
        """Make USERNAME an administrator; never revokes (repeatable) (default: none)."""
        self.lists["admin"].append(username)

    def opt_allowed_origin(self, origin: str) -> None:
        """A browser Origin allowed besides the server's own (repeatable) (default: none)."""
        self.lists["allowed-origin"].append(origin)

    def opt_version(self) -> None:
        """Print the version and exit."""
        print(f"socialhub {__version__}")
        sys.exit(0)

    def postOptions(self) -> None:
        try:
            self["config"] = self.to_config()
        except (ConfigError, ValueError) as error:
            raise usage.UsageError(str(error)) from error

    def to_config(self, environ: Mapping[str, str] | None = None) -> Config:
        """Merge command line, environment, --config file and defaults into a checked Config."""
        environ = os.environ if environ is None else environ
        check_environment(environ, _OPTIONS)
        path = self.config_path or env_value("config", environ) or ""
        layers = _Layers(self, environ, read_file(path, _FILE_OPTIONS) if path else {}, path)
        values: dict[str, Any] = {}
        for name, default, parse, _ in _PARAMETERS:
            values[name] = layers.parameter(name, default, parse)
        for name, _ in _FLAGS:
            values[name] = layers.flag(name)
        for name, _ in _LISTS:
            values[name] = layers.items(name)
        check_listen(values["listen"], values["reuse-port"])
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
            rest_rate_limit=values["rest-rate-limit"],
            address_rate_limit=values["address-rate-limit"],
            max_sockets=values["max-sockets"],
            header_timeout=values["header-timeout"],
            body_timeout=values["body-timeout"],
            session_ttl_days=values["session-ttl"],
            reuse_port=values["reuse-port"],
            trusted_proxy=values["trusted-proxy"],
            password_time_cost=values["password-time-cost"],
            password_memory_kib=values["password-memory-kib"],
            password_threads=values["password-threads"],
            presence_grace=values["presence-grace"],
            presence_refresh=values["presence-refresh"],
            presence_expiry=values["presence-expiry"],
            log_format=values["log-format"],
            access_log=values["access-log"],
            metrics_listen=values["metrics-listen"],
            registration=values["registration"],
            smtp=values["smtp"],
            mail_from=values["mail-from"],
            public_url=values["public-url"],
            require_email_verification=values["require-email-verification"],
        )


class _Layers:
    """One option's value from the first layer that has it: command line, environment,
    file, default. Each error names the option as that layer spells it."""

    def __init__(
        self, options: Options, environ: Mapping[str, str], file: dict[str, object], path: str
    ) -> None:
        self._options = options
        self._environ = environ
        self._file = file
        self._path = path

    def _in_file(self, name: str) -> str:
        return f"{name} in {self._path}"

    def parameter(self, name: str, default: object, parse: Callable[[str], object]) -> object:
        if self._options[name] is not None:
            return _parse(f"--{name}", self._options[name], parse)
        raw = env_value(name, self._environ)
        if raw is not None:
            return _parse(env_name(name), raw, parse)
        if name in self._file:
            return _from_file(self._in_file(name), self._file[name], parse)
        return default

    def flag(self, name: str) -> bool:
        if self._options[name]:
            return True
        raw = env_value(name, self._environ)
        if raw is not None:
            return env_flag(name, raw)
        value = self._file.get(name, False)
        if not isinstance(value, bool):
            raise ConfigError(f"{self._in_file(name)}: {value!r} is not true or false")
        return value

    def items(self, name: str) -> list[str]:
        if self._options.lists[name]:
            return self._options.lists[name]
        raw = env_value(name, self._environ)
        if raw is not None:
            return list(env_list(raw))
        value = self._file.get(name, [])
        if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
            raise ConfigError(f"{self._in_file(name)}: {value!r} is not a list of strings")
        return value


def _parse(source: str, raw: str, parse: Callable[[str], object]) -> object:
    try:
        return parse(raw)
    except ValueError:
        raise ConfigError(f"{source}: {raw!r} is not a valid value") from None


def _from_file(source: str, value: object, parse: Callable[[str], object]) -> object:
    """A TOML value of the type the option takes: a number for int and float options
    (booleans are not numbers here), a string for the others, then parsed as given."""
    if parse is int or parse is float:
        numeric, kind = ((int,), "a whole number") if parse is int else ((int, float), "a number")
        if isinstance(value, numeric) and not isinstance(value, bool):
            return parse(str(value))
        raise ConfigError(f"{source}: {value!r} is not {kind}")
    if not isinstance(value, str):
        raise ConfigError(f"{source}: {value!r} is not a string")
    return _parse(source, value, parse)


def raise_open_file_limit() -> None:
    """Lift the soft open-file limit to the hard one: every WebSocket holds a descriptor."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class LoggedService(MultiService):
    """The service twistd runs: the server, under an application that logs as --log-format says.

    twistd builds the application only after makeService, then takes its log observer from the
    application's ILogObserver component (unless `twistd --logger` names one): this service
    sets that component when twistd makes it the application's child.
    """

    def __init__(self, child: IService, observer: ILogObserver | None) -> None:
        super().__init__()
        self._observer = observer
        child.setServiceParent(self)

    def setServiceParent(self, parent: Any) -> None:
        if self._observer is not None and isinstance(parent, Componentized):
            parent.setComponent(ILogObserver, self._observer)
        super().setServiceParent(parent)


def makeService(options: Options) -> IService:
    """Build the socialhub service from parsed options (twistd calls this)."""
    from twisted.internet import reactor

    from socialhub.reactor import as_reactor
    from socialhub.server import SocialHubService, exit_with_failure

    raise_open_file_limit()
    config: Config = options["config"]
    running = as_reactor(reactor)
    server = SocialHubService(config, running, exit_with_failure(running))
    return LoggedService(server, json_lines_observer() if config.log_format == "json" else None)
