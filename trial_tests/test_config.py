"""Settings from four layers (command line, SOCIALHUB_* environment, --config TOML file,
defaults), parsed strictly: every unusable setting is a usage error naming it."""

from __future__ import annotations

import os
import re

from twisted.python import usage
from twisted.trial.unittest import TestCase

from socialhub.config import Config, without_password
from socialhub.tap import Options
from trial_tests.support.processes import REPO_ROOT

SAMPLE = os.path.join(REPO_ROOT, "docs", "deploy", "socialhub.toml")


def config_of(argv: list[str], environ: dict[str, str]) -> Config:
    """The Config that `twistd socialhub ARGV` builds in this environment."""
    options = Options()
    options.parseOptions(argv)  # checks the process environment, which tests leave empty
    return options.to_config(environ=environ)


def toml_file(testcase: TestCase, text: str) -> str:
    """A file of this text in the test's temporary directory; its absolute path."""
    path: str = os.path.abspath(testcase.mktemp())
    with open(path, "w") as file:
        file.write(text)
    return path


class LayersTests(TestCase):
    """Which layer wins: the command line, then the environment, then the file."""

    def setUp(self) -> None:
        self.patch(os, "environ", {})

    def test_precedence_of_the_four_layers(self) -> None:
        """A value, a flag and a list, each given by more and more layers: the highest wins;
        an environment flag set to false overrides the file's true."""
        path = toml_file(self, 'rate-limit = 5\nsecure-cookies = true\nadmin = ["file"]\n')
        file = ["--config", path]
        layers = [
            ([], {}, (20, False, frozenset())),
            (file, {}, (5, True, frozenset({"file"}))),
            (
                file,
                {
                    "SOCIALHUB_RATE_LIMIT": "6",
                    "SOCIALHUB_SECURE_COOKIES": "false",
                    "SOCIALHUB_ADMIN": "env",
                },
                (6, False, frozenset({"env"})),
            ),
            (
                [*file, "--rate-limit", "7", "--secure-cookies", "--admin", "cli"],
                {"SOCIALHUB_RATE_LIMIT": "6", "SOCIALHUB_SECURE_COOKIES": "0"},
                (7, True, frozenset({"cli"})),
            ),
        ]
        for argv, environ, expected in layers:
            config = config_of(argv, environ)
            got = (config.rate_limit, config.secure_cookies, config.admins)
            self.assertEqual(got, expected, (argv, environ))

    def test_file_named_by_the_environment(self) -> None:
        """SOCIALHUB_CONFIG names the file when --config does not; --config wins."""
        from_env = toml_file(self, 'media-dir = "/srv/env"\n')
        from_option = toml_file(self, 'media-dir = "/srv/option"\n')
        environ = {"SOCIALHUB_CONFIG": from_env}
        self.assertEqual(config_of([], environ).media_dir, "/srv/env")
        self.assertEqual(config_of(["--config", from_option], environ).media_dir, "/srv/option")

    def test_file_value_types(self) -> None:
        """Strings, whole numbers, numbers (an integer is a float too), booleans, lists."""
        path = toml_file(
            self,
            'listen = "tcp:0:interface=127.0.0.1"\npresence-grace = 2\npresence-expiry = 25.5\n'
            'allowed-origin = ["https://a.example.org"]\nreuse-port = false\n',
        )
        config = config_of(["--config", path], {})
        self.assertEqual(config.listen, "tcp:0:interface=127.0.0.1")
        self.assertEqual((config.presence_grace, config.presence_expiry), (2.0, 25.5))
        self.assertEqual(config.allowed_origins, ("https://a.example.org",))

    def test_sample_file_loads_and_names_every_option(self) -> None:
        """docs/deploy/socialhub.toml is a valid file, and every option the file may hold
        appears in it (set, or commented out with its default or an example)."""
        config = config_of(["--config", SAMPLE], {})
        self.assertEqual(config.database, "postgresql:///socialhub")
        self.assertTrue(config.secure_cookies)
        with open(SAMPLE) as file:
            named = set(re.findall(r"^#? ?([a-z-]+) = ", file.read(), re.MULTILINE))
        self.assertEqual(named, set(Options().docs) - {"config", "help", "version"})


class StrictTests(TestCase):
    """Every unusable setting is a UsageError whose message names the option."""

    def setUp(self) -> None:
        self.patch(os, "environ", {})

    def assert_refused(self, argv: list[str], environ: dict[str, str], message: str) -> None:
        self.patch(os, "environ", environ)
        with self.assertRaises(usage.UsageError) as caught:
            Options().parseOptions(argv)
        self.assertEqual(str(caught.exception), message)

    def test_unknown_key_in_the_file(self) -> None:
        path = toml_file(self, "rate_limit = 5\n")
        self.assert_refused(
            ["--config", path], {}, f"--config {path}: 'rate_limit' is not an option"
        )

    def test_config_is_not_a_file_key(self) -> None:
        """A file cannot name another file."""
        path = toml_file(self, 'config = "other.toml"\n')
        self.assert_refused(["--config", path], {}, f"--config {path}: 'config' is not an option")

    def test_unreadable_file(self) -> None:
        missing = os.path.abspath(self.mktemp())
        with self.assertRaises(usage.UsageError) as caught:
            Options().parseOptions(["--config", missing])
        self.assertIn(f"--config {missing}: [Errno 2] No such file", str(caught.exception))
        broken = toml_file(self, "rate-limit = \n")
        with self.assertRaises(usage.UsageError) as caught:
            Options().parseOptions(["--config", broken])
        self.assertIn(f"--config {broken}: ", str(caught.exception))

    def test_wrong_types_in_the_file(self) -> None:
        for text, message in (
            ('rate-limit = "5"', "rate-limit in {}: '5' is not a whole number"),
            ("rate-limit = 2.5", "rate-limit in {}: 2.5 is not a whole number"),
            ("rate-limit = true", "rate-limit in {}: True is not a whole number"),
            ('presence-grace = "1"', "presence-grace in {}: '1' is not a number"),
            ("media-dir = 5", "media-dir in {}: 5 is not a string"),
            ('secure-cookies = "yes"', "secure-cookies in {}: 'yes' is not true or false"),
            ('admin = "alice"', "admin in {}: 'alice' is not a list of strings"),
            ("allowed-origin = [1]", "allowed-origin in {}: [1] is not a list of strings"),
        ):
            path = toml_file(self, text + "\n")
            self.assert_refused(["--config", path], {}, message.format(path))

    def test_unknown_environment_variable(self) -> None:
        self.assert_refused(
            [],
            {"SOCIALHUB_RATELIMIT": "5"},
            "SOCIALHUB_RATELIMIT: no such option (unknown SOCIALHUB_* variable)",
        )

    def test_bad_boolean_in_the_environment(self) -> None:
        for value in ("maybe", "2", "enabled"):
            self.assert_refused(
                [],
                {"SOCIALHUB_SECURE_COOKIES": value},
                f"SOCIALHUB_SECURE_COOKIES: {value!r} is not a boolean"
                " (1, true, yes, on or 0, false, no, off)",
            )

    def test_booleans_in_the_environment(self) -> None:
        """Each accepted spelling, any case and spacing."""
        for value, expected in (("Yes", True), (" on ", True), ("NO", False), ("off", False)):
            config = config_of([], {"SOCIALHUB_SECURE_COOKIES": value})
            self.assertIs(config.secure_cookies, expected, value)

    def test_bad_values_name_their_layer(self) -> None:
        """The same bad value, from each layer, is named as that layer spells the option."""
        path = toml_file(self, "session-ttl = 0\n")
        self.assert_refused(["--rate-limit", "x"], {}, "--rate-limit: 'x' is not a valid value")
        self.assert_refused(
            [], {"SOCIALHUB_RATE_LIMIT": "x"}, "SOCIALHUB_RATE_LIMIT: 'x' is not a valid value"
        )
        self.assert_refused(["--config", path], {}, "--session-ttl must be at least 1 day")

    def test_rate_limits(self) -> None:
        """The REST and per-address limits by each layer; 0 turns them off, below is refused."""
        path = toml_file(self, "rest-rate-limit = 30\naddress-rate-limit = 0\n")
        config = config_of(["--config", path], {"SOCIALHUB_ADDRESS_RATE_LIMIT": "3"})
        self.assertEqual((config.rest_rate_limit, config.address_rate_limit), (30, 3))
        default = config_of([], {})
        self.assertEqual((default.rest_rate_limit, default.address_rate_limit), (120, 10))
        for option in ("--rest-rate-limit", "--address-rate-limit"):
            self.assert_refused(
                [option, "-1"], {}, f"{option} must be 0 (off) or a positive number"
            )

    def test_bad_listen_endpoint(self) -> None:
        """An endpoint Twisted cannot build: unknown type, bad port, unknown argument, and a
        non-tcp endpoint with --reuse-port."""
        for listen, reason in (
            ("nope:1", "Unknown endpoint type: 'nope'"),
            ("tcp:http", "invalid literal for int() with base 10: 'http'"),
            ("tcp:9000:color=red", "_parseTCP() got an unexpected keyword argument 'color'"),
        ):
            self.assert_refused(
                ["--listen", listen],
                {},
                f"--listen: {listen!r} is not a usable endpoint ({reason})",
            )
        self.assert_refused(
            [
                *("--listen", "unix:/tmp/socialhub.sock", "--reuse-port"),
                *("--redis", "redis://127.0.0.1:6379/0"),
                *("--database", "postgresql:///socialhub"),
            ],
            {},
            "--reuse-port works with a tcp:PORT listen endpoint only",
        )


class HelpTests(TestCase):
    def test_help_gives_every_default(self) -> None:
        """Each option's help says its default; --help and --version say what they do."""
        options = Options()
        for option, text in options.docs.items():
            if option not in ("help", "version"):
                self.assertRegex(text, r"\(default: [^)]+\)\.?$", option)
        text = re.sub(r"\s+", " ", str(options))
        self.assertIn("(default: tcp:9000:interface=127.0.0.1:backlog=1024)", text)
        self.assertIn("--secure-cookies mark the session cookie Secure", text)


class ShownTests(TestCase):
    """What the start-up line shows of the database and bus URLs."""

    def test_passwords_left_out(self) -> None:
        for url, shown in (
            (
                "postgresql://socialhub:secret@db:5432/socialhub",
                "postgresql://socialhub@db:5432/socialhub",
            ),
            ("postgresql://db/socialhub?password=secret&sslmode=require", None),
            ("redis://:secret@127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            ("postgresql:///socialhub", "postgresql:///socialhub"),
        ):
            result = without_password(url)
            self.assertNotIn("secret", result)
            if shown is not None:
                self.assertEqual(result, shown)
        self.assertEqual(
            without_password("postgresql://db/socialhub?password=x&sslmode=require"),
            "postgresql://db/socialhub?sslmode=require",
        )

    def test_database_and_bus(self) -> None:
        config = Config(database="sqlite:data/db.sqlite3")
        self.assertEqual(config.database_shown, "sqlite:" + os.path.abspath("data/db.sqlite3"))
        self.assertEqual(config.bus_shown, "local")
        clustered = Config(
            database="postgresql://u:pw@db/s", redis="redis://:pw@r:6379/0", reuse_port=True
        )
        self.assertEqual(
            (clustered.database_shown, clustered.bus_shown),
            ("postgresql://u@db/s", "redis://r:6379/0"),
        )
