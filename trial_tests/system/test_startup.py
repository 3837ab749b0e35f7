"""A server that cannot start says so with its exit status, so a supervisor restarts it."""

from __future__ import annotations

import os
import sys

from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from trial_tests.support.processes import REPO_ROOT, free_port


class StartupTests(TestCase):
    timeout = 60

    async def test_unreachable_database_exits_with_status_1(self) -> None:
        """With the database unreachable at start, twistd logs why and exits 1 (not 0)."""
        argv = ["-c", "from twisted.scripts.twistd import run; run()", "-n", "--pidfile="]
        argv += ["socialhub", "--listen", f"tcp:{free_port()}:interface=127.0.0.1"]
        argv += ["--database", f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"]
        out, err, code = await getProcessOutputAndValue(
            sys.executable,
            argv,
            env={**os.environ, "PYTHONPATH": REPO_ROOT},
            path=REPO_ROOT,
            reactor=reactor,
        )
        self.assertEqual(code, 1, (out + err).decode(errors="replace"))
        self.assertIn(b"socialhub cannot start", out + err)
