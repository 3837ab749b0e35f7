"""schemathesis, a fuzzer of its own, against a live server from its /api/openapi.json: a short,
deterministic run per engine, signed in as an administrator, finds no 5xx, only documented
statuses, Content-Types and error bodies, and every request the schema refuses refused
(bench/api_fuzz.py runs the long one)."""

from __future__ import annotations

import os
import re

from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from bench.api_fuzz import st_command
from trial_tests.support.harness import PostgresEngine, SqliteEngine, start_server
from trial_tests.support.mixins import EngineTestMixin
from trial_tests.support.processes import REPO_ROOT

# Cases per operation: enough to reach every operation's checks, few enough for every run.
EXAMPLES = 3


class SchemathesisTests(EngineTestMixin):
    # A bound, not a measure: about 250 requests, far slower on a busy machine than alone.
    timeout = 900

    async def test_no_server_error_nor_undocumented_answer(self) -> None:
        running = await start_server(self, self.engine, admins=frozenset({"root"}))
        client = running.client()
        await client.register("root")
        cookie = f"socialhub_session={client.session_token()}"
        command = st_command(running.url, cookie, EXAMPLES, phases="fuzzing")
        # In a directory of its own: schemathesis keeps a cache of failing cases where it runs,
        # and would replay another run's.
        workdir = self.mktemp()
        os.mkdir(workdir)
        out, err, code = await getProcessOutputAndValue(
            command[0],
            command[1:],
            env={**os.environ, "PYTHONPATH": REPO_ROOT},
            path=workdir,
            reactor=reactor,
        )
        report = out.decode(errors="replace")
        self.assertEqual(code, 0, report[-6000:] + err.decode(errors="replace")[-2000:])
        generated = re.search(r"(\d+) generated, \1 passed", report)
        self.assertIsNotNone(generated, report[-2000:])
        self.assertNotIn("Authentication failed", report)


class SchemathesisSqliteTests(SqliteEngine, SchemathesisTests, TestCase):
    pass


class SchemathesisPostgresTests(PostgresEngine, SchemathesisTests, TestCase):
    pass
