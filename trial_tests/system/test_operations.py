"""Operations: /healthz, /metrics, the options and their environment fallbacks."""

from __future__ import annotations

import os
import resource

from twisted.application.service import Application, IServiceMaker
from twisted.logger import ILogObserver
from twisted.plugin import getPlugins
from twisted.python import usage
from twisted.trial.unittest import TestCase

from socialhub import __version__
from socialhub.config import DEFAULT_DATABASE, DEFAULT_LISTEN, Config, ConfigError
from socialhub.tap import Options, makeService, raise_open_file_limit
from trial_tests.support.harness import PostgresEngine, SqliteEngine, start_server
from trial_tests.support.mixins import EngineTestMixin

PG_URL = "postgresql://socialhub:secret@db.example.org:5432/socialhub"


def parsed(*argv: str) -> Options:
    options = Options()
    options.parseOptions(list(argv))
    return options


class OperationsEndpointsTests(EngineTestMixin):
    """/healthz and /metrics of a running server, without a session."""

    async def test_healthz(self) -> None:
        """200 with the version and every part reported ok (no bus configured: disabled)."""
        client = (await start_server(self, self.engine)).client()
        response = await client.get("/healthz")
        self.assertEqual(response.status, 200, response.raw)
        self.assertEqual(
            response.headers.getRawHeaders(b"content-type"), [b"application/json"], response.raw
        )
        self.assertEqual(
            response.json,
            {"status": "ok", "version": __version__, "database": "ok", "bus": "disabled"},
        )

    async def test_metrics(self) -> None:
        """Prometheus text: text/plain, counting HTTP responses by status."""
        client = (await start_server(self, self.engine)).client()
        await client.get("/healthz")
        await client.get("/nope")
        response = await client.get("/metrics")
        self.assertEqual(response.status, 200, response.raw)
        content_type = response.headers.getRawHeaders(b"content-type")[0]
        self.assertTrue(content_type.startswith(b"text/plain"), content_type)
        text = response.raw.decode("utf-8")
        self.assertIn("# TYPE socialhub_http_responses_total counter", text)
        self.assertIn('socialhub_http_responses_total{status="200"} 1.0', text)
        self.assertIn('socialhub_http_responses_total{status="404"} 1.0', text)
        for name in ("socialhub_websocket_connections", "socialhub_frames_in"):
            self.assertIn(name, text)

    async def test_metrics_time_requests_and_transactions(self) -> None:
        """Request latency by method and route pattern (the path's ids are not labels), and
        the database's transactions, which every authenticated request makes."""
        client = (await start_server(self, self.engine)).client()
        await client.register("alice")
        for post_id in (1, 2):
            self.assertEqual((await client.get(f"/api/posts/{post_id}")).status, 404)
        text = (await client.get("/metrics")).raw.decode()
        series = 'socialhub_http_request_duration_seconds_count{method="GET",route='
        self.assertIn(series + '"/api/posts/{post_id}"} 2.0', text)
        self.assertIn(series.replace("GET", "POST") + '"/api/auth/register"} 1.0', text)
        self.assertNotIn("/api/posts/1", text)
        transactions = [
            line
            for line in text.splitlines()
            if line.startswith("socialhub_database_seconds_count")
        ]
        self.assertEqual(len(transactions), 1, text)
        self.assertGreaterEqual(float(transactions[0].split()[1]), 3)
        self.assertIn("socialhub_bus_up 1.0", text)
        build = rf'socialhub_build_info\{{pid="{os.getpid()}",python="[0-9.]+",version="[^"]+"\}} 1'
        self.assertRegex(text, build)
        self.assertIn("process_open_fds", text)

    async def test_operations_routes_take_no_body_or_other_method(self) -> None:
        """They are GET routes: another method is a JSON 405."""
        client = (await start_server(self, self.engine)).client()
        for path in ("/healthz", "/metrics"):
            response = await client.post(path, {"a": 1})
            self.assertEqual(response.status, 405, response.raw)
            self.assertEqual(response.json["error"], "method_not_allowed")


class OperationsEndpointsSqliteTests(SqliteEngine, OperationsEndpointsTests, TestCase):
    pass


class OperationsEndpointsPostgresTests(PostgresEngine, OperationsEndpointsTests, TestCase):
    pass


class OptionsTests(TestCase):
    """`twistd socialhub` options: command line, SOCIALHUB_* environment, defaults, checks."""

    def test_defaults(self) -> None:
        """Without options or environment, the documented defaults."""
        config = Options().to_config(environ={})
        self.assertEqual(config, Config())
        self.assertEqual(config.listen, DEFAULT_LISTEN)
        self.assertEqual(DEFAULT_LISTEN, "tcp:9000:interface=127.0.0.1:backlog=1024")
        self.assertEqual(config.database, DEFAULT_DATABASE)
        self.assertEqual(DEFAULT_DATABASE, "sqlite:socialhub.sqlite3")
        self.assertEqual((config.rate_limit, config.session_ttl_days), (20, 30))
        self.assertEqual(config.media_dir, "media")
        self.assertEqual((config.redis, config.trusted_proxy), (None, None))
        self.assertEqual((config.admins, config.allowed_origins), (frozenset(), ()))
        self.assertFalse(config.secure_cookies or config.reuse_port)
        presence = (config.presence_grace, config.presence_refresh, config.presence_expiry)
        self.assertEqual(presence, (5.0, 10.0, 30.0))
        logs = (config.log_format, config.access_log, config.metrics_listen)
        self.assertEqual(logs, ("text", False, None))

    def test_command_line(self) -> None:
        """Every option and the hashing costs, from the command line."""
        config = parsed(
            "--listen",
            "tcp:9001:interface=0.0.0.0",
            "--database",
            PG_URL,
            "--redis",
            "redis://127.0.0.1:6379/0",
            "--admin",
            "Alice",
            "--admin",
            "bob",
            "--allowed-origin",
            "https://a.example.org",
            "--allowed-origin",
            "https://b.example.org",
            "--secure-cookies",
            "--media-dir",
            "/var/lib/socialhub/media",
            "--rate-limit",
            "0",
            "--session-ttl",
            "7",
            "--reuse-port",
            "--trusted-proxy",
            "10.0.0.1",
            "--password-time-cost",
            "2",
            "--password-memory-kib",
            "1024",
            "--password-threads",
            "3",
            "--presence-grace",
            "2.5",
            "--presence-refresh",
            "5",
            "--presence-expiry",
            "20",
            "--log-format",
            "json",
            "--access-log",
            "--metrics-listen",
            "tcp:19001:interface=127.0.0.1",
        )["config"]
        self.assertEqual(
            config,
            Config(
                listen="tcp:9001:interface=0.0.0.0",
                database=PG_URL,
                redis="redis://127.0.0.1:6379/0",
                admins=frozenset({"alice", "bob"}),
                allowed_origins=("https://a.example.org", "https://b.example.org"),
                secure_cookies=True,
                media_dir="/var/lib/socialhub/media",
                rate_limit=0,
                session_ttl_days=7,
                reuse_port=True,
                trusted_proxy="10.0.0.1",
                password_time_cost=2,
                password_memory_kib=1024,
                password_threads=3,
                presence_grace=2.5,
                presence_refresh=5.0,
                presence_expiry=20.0,
                log_format="json",
                access_log=True,
                metrics_listen="tcp:19001:interface=127.0.0.1",
            ),
        )
        self.assertEqual(config.session_ttl_seconds, 7 * 86400)
        self.assertTrue(config.is_postgres)

    def test_environment_fallback(self) -> None:
        """SOCIALHUB_<OPTION> sets what the command line leaves out; lists are comma-separated,
        flags are on for 1 or true."""
        environ = {
            "SOCIALHUB_DATABASE": PG_URL,
            "SOCIALHUB_RATE_LIMIT": "5",
            "SOCIALHUB_ADMIN": "a, B",
            "SOCIALHUB_SECURE_COOKIES": "true",
            "SOCIALHUB_ALLOWED_ORIGIN": "https://a.example.org,https://b.example.org",
            "SOCIALHUB_SESSION_TTL": "3",
            "SOCIALHUB_TRUSTED_PROXY": "10.0.0.2",
            "SOCIALHUB_REDIS": "redis://127.0.0.1:6379/1",
            "SOCIALHUB_REUSE_PORT": "1",
            "SOCIALHUB_PASSWORD_TIME_COST": "4",
        }
        config = parsed().to_config(environ=environ)
        self.assertEqual(config.database, PG_URL)
        self.assertEqual(config.rate_limit, 5)
        self.assertEqual(config.admins, frozenset({"a", "b"}))
        self.assertTrue(config.secure_cookies)
        self.assertEqual(config.allowed_origins, ("https://a.example.org", "https://b.example.org"))
        self.assertEqual(config.session_ttl_days, 3)
        self.assertEqual(config.trusted_proxy, "10.0.0.2")
        self.assertEqual(config.redis, "redis://127.0.0.1:6379/1")
        self.assertTrue(config.reuse_port)
        self.assertEqual(config.password_time_cost, 4)

    def test_environment_flags(self) -> None:
        """A flag variable is on only for 1 or true (any case); 0, false or empty leave it off."""
        for value, expected in (
            ("1", True),
            ("true", True),
            ("TRUE", True),
            ("0", False),
            ("false", False),
            ("", False),
        ):
            config = parsed().to_config(environ={"SOCIALHUB_SECURE_COOKIES": value})
            self.assertIs(config.secure_cookies, expected, value)

    def test_command_line_wins(self) -> None:
        """An option given on the command line overrides its environment variable."""
        options = parsed("--rate-limit", "5", "--admin", "carol", "--database", "sqlite:x.db")
        config = options.to_config(
            environ={
                "SOCIALHUB_RATE_LIMIT": "7",
                "SOCIALHUB_ADMIN": "a,b",
                "SOCIALHUB_DATABASE": PG_URL,
            }
        )
        self.assertEqual(config.rate_limit, 5)
        self.assertEqual(config.admins, frozenset({"carol"}))
        self.assertEqual(config.database, "sqlite:x.db")

    def test_parse_options_reads_the_process_environment(self) -> None:
        """parseOptions itself falls back to os.environ."""
        self.patch(os, "environ", {"SOCIALHUB_RATE_LIMIT": "9", "SOCIALHUB_ADMIN": "x,y"})
        config = parsed()["config"]
        self.assertEqual(config.rate_limit, 9)
        self.assertEqual(config.admins, frozenset({"x", "y"}))

    def test_invalid_command_line_values(self) -> None:
        """Unusable values are a UsageError (twistd prints it with the usage)."""
        for argv in (
            ["--rate-limit", "-1"],
            ["--rate-limit", "abc"],
            ["--session-ttl", "0"],
            ["--session-ttl", "1.5"],
            ["--database", "mysql://x"],
            ["--database", "socialhub.sqlite3"],
            ["--password-time-cost", "0"],
            ["--password-memory-kib", "4"],
            ["--password-threads", "0"],
            ["--presence-grace", "-1"],
            ["--presence-grace", "11"],
            ["--presence-grace", "nan"],
            ["--presence-refresh", "0"],
            ["--presence-refresh", "30"],
            ["--presence-expiry", "55"],
            ["--presence-expiry", "soon"],
            ["--reuse-port"],
            ["--redis", "redis://127.0.0.1:6379/0"],
            ["--log-format", "xml"],
            ["--no-such-option"],
        ):
            with self.assertRaises(usage.UsageError, msg=argv):
                parsed(*argv)

    def test_invalid_environment_values(self) -> None:
        """Unusable environment values are refused too: ConfigError from to_config, a
        UsageError from parseOptions."""
        for name, value in (
            ("SOCIALHUB_RATE_LIMIT", "-1"),
            ("SOCIALHUB_SESSION_TTL", "0"),
            ("SOCIALHUB_DATABASE", "mysql://x"),
            ("SOCIALHUB_RATE_LIMIT", "many"),
        ):
            with self.assertRaises(ConfigError, msg=name):
                Options().to_config(environ={name: value})
            self.patch(os, "environ", {name: value})
            with self.assertRaises(usage.UsageError, msg=name):
                parsed()

    def test_help_lists_every_option(self) -> None:
        """`twistd socialhub --help` documents every option and the hashing costs."""
        help_text = str(Options())
        for name in (
            "listen",
            "database",
            "redis",
            "admin",
            "allowed-origin",
            "secure-cookies",
            "media-dir",
            "rate-limit",
            "session-ttl",
            "reuse-port",
            "trusted-proxy",
            "password-time-cost",
            "password-memory-kib",
            "password-threads",
            "presence-grace",
            "presence-refresh",
            "presence-expiry",
            "log-format",
            "access-log",
            "metrics-listen",
        ):
            self.assertIn(f"--{name}", help_text)


class ProcessTests(TestCase):
    """What `twistd socialhub` does to the process, and how twistd finds it."""

    def test_open_file_limit_raised_to_hard_limit(self) -> None:
        """raise_open_file_limit lifts the soft RLIMIT_NOFILE to the hard limit."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        lowered = min(soft, hard, 256)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
        raise_open_file_limit()
        self.assertEqual(resource.getrlimit(resource.RLIMIT_NOFILE), (hard, hard))

    def test_plugin_found_by_twistd(self) -> None:
        """Twisted's plugin discovery finds the `socialhub` service maker."""
        makers = {maker.tapname: maker for maker in getPlugins(IServiceMaker)}
        self.assertIn("socialhub", makers)
        self.assertEqual(getattr(makers["socialhub"], "module", None), "socialhub.tap")

    def test_json_log_format_sets_the_applications_observer(self) -> None:
        """With --log-format json the service gives twistd's application its log observer
        (twistd's AppLogger uses it when no --logger is given); with text it gives none."""
        for log_format, observed in (("json", True), ("text", False)):
            options = parsed("--database", f"sqlite:{self.mktemp()}", "--log-format", log_format)
            application = Application("socialhub")
            makeService(options).setServiceParent(application)
            observer = application.getComponent(ILogObserver, None)
            self.assertEqual(observer is not None, observed, log_format)
