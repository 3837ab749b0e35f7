"""Starting `twistd socialhub`: what it says when it starts, and when it cannot."""

from __future__ import annotations

import os
import sys

from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from socialhub import __version__
from socialhub.storage.migrations import migration_files
from trial_tests.support.harness import fresh_postgres_url
from trial_tests.support.processes import (
    REPO_ROOT,
    free_port,
    server_environment,
    start_process,
)

TWISTD = ["-c", "from twisted.scripts.twistd import run; run()", "-n", "--pidfile=", "socialhub"]


async def twistd(*args: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    """`twistd -n socialhub ARGS` run to its end: its output (stdout and stderr) and status."""
    out, err, code = await getProcessOutputAndValue(
        sys.executable,
        [*TWISTD, *args],
        env={**server_environment(), **(env or {})},
        path=REPO_ROOT,
        reactor=reactor,
    )
    return (out + err).decode(errors="replace"), code


class StartupTests(TestCase):
    timeout = 60

    async def test_unreachable_database_exits_with_status_1(self) -> None:
        """With the database unreachable at start, twistd logs why and exits 1 (not 0)."""
        output, code = await twistd(
            "--listen",
            f"tcp:{free_port()}:interface=127.0.0.1",
            "--database",
            f"postgresql://postgres@127.0.0.1:{free_port()}/nothing",
        )
        self.assertEqual(code, 1, output)
        self.assertIn("socialhub cannot start", output)

    async def test_version(self) -> None:
        """`twistd socialhub --version` prints the package's version and exits 0."""
        output, code = await twistd("--version")
        self.assertEqual((output, code), (f"socialhub {__version__}\n", 0))

    async def test_bad_settings_are_one_line_without_traceback(self) -> None:
        """A bad value, wherever it comes from, stops twistd with status 1 and one error line
        naming the option as it was given, after the usage; no traceback."""
        config = os.path.abspath(self.mktemp())
        with open(config, "w") as file:
            file.write('rate-limit = "fast"\n')
        cases = [
            ((), {"SOCIALHUB_SECURE_COOKIES": "maybe"}, "SOCIALHUB_SECURE_COOKIES: 'maybe'"),
            ((), {"SOCIALHUB_RATE_LIMTI": "5"}, "SOCIALHUB_RATE_LIMTI: no such option"),
            (("--listen", "tcp:port"), {}, "--listen: 'tcp:port' is not a usable endpoint"),
            (("--config", config), {}, f"rate-limit in {config}: 'fast' is not a whole number"),
        ]
        for args, env, expected in cases:
            output, code = await twistd(*args, env=env)
            self.assertEqual(code, 1, output)
            self.assertNotIn("Traceback", output)
            last = output.strip().splitlines()[-1]
            self.assertIn(expected, last, output)

    async def test_start_line(self) -> None:
        """One log line at start: version, address, the database without its password, the
        bus, and the migrations this start applied (all of them, on an empty database) and the
        schema version; a second start applies none."""
        url = fresh_postgres_url().replace("postgres@", "postgres:pw-s3cret@", 1)
        port = free_port()
        first = await start_process(self, url, port=port)
        versions = [version for version, _ in migration_files()]
        shown_url = url.replace(":pw-s3cret", "", 1)
        expected = (
            f"socialhub listening on 127.0.0.1:{port}; version {__version__};"
            f" database {shown_url}; bus local; migrations applied at this start:"
            f" {', '.join(f'{v:04d}' for v in versions)} (schema version {versions[-1]})"
        )
        output = first.output.decode()
        self.assertIn(expected, output)
        self.assertNotIn("pw-s3cret", output)
        await first.signal("TERM")
        again = (await start_process(self, url)).output.decode()
        self.assertIn(f"applied at this start: none (schema version {versions[-1]})", again)
