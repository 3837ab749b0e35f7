"""The benchmark's smoke runs: `python -m bench --quick` on one workload, socialhub (SQLite) and
the bare Autobahn relay only, in a few seconds; and the typing storm on socialhub (SQLite). They
check the tool works end to end (servers start, the generator measures, the table prints), not
how fast anything is: no benchmark runs in the test suite. Skipped where the bench extras
(`pip install '.[bench]'`) are missing."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

from twisted.trial.unittest import SkipTest, TestCase

from trial_tests.support.processes import REPO_ROOT

GENERATOR_MODULES = ("picows", "uvloop", "aiohttp")
RUN_TIMEOUT = 150


class BenchSmokeTests(TestCase):
    timeout = RUN_TIMEOUT + 30

    def test_quick_private_relay_prints_a_table(self) -> None:
        """A quick private-relay run prints a row per server with a positive rate and CPU."""
        done = run_bench("private", "socialhub-sqlite,autobahn")
        rows = {}
        row = re.compile(r"\s(socialhub-sqlite|autobahn)\s+([\d,]+) msg/s.*?(\d+) µs/msg")
        for line in done.stdout.splitlines():
            found = row.search(line)
            if found:
                rows[found[1]] = (float(found[2].replace(",", "")), float(found[3]))
        self.assertEqual(set(rows), {"socialhub-sqlite", "autobahn"}, done.stdout)
        for server, (rate, cpu) in rows.items():
            self.assertGreater(rate, 0, f"{server}: {done.stdout}")
            self.assertGreater(cpu, 0, f"{server}: {done.stdout}")
        self.assertIn("1.00 (baseline)", done.stdout)

    def test_quick_typing_storm_prints_forwarded_frames(self) -> None:
        """A quick typing storm on SQLite prints forwarded frames/s near the throttle's one a
        second for each of the 100 senders (not the 500 sent), CPU per forwarded frame, and no
        errors; no baseline, as the peers have no typing."""
        done = run_bench("typing", "socialhub-sqlite")
        row = re.compile(
            r"\ssocialhub-sqlite\s+([\d,]+) forwarded/s\s+—\s+(\d+) µs/forwarded.*, 0 errors"
        )
        found = row.search(done.stdout)
        assert found is not None, done.stdout
        forwarded, cpu = float(found[1].replace(",", "")), float(found[2])
        self.assertTrue(20 <= forwarded <= 110, done.stdout)
        self.assertGreater(cpu, 0, done.stdout)


def run_bench(workload: str, servers: str) -> subprocess.CompletedProcess[str]:
    """`python -m bench --quick` on one workload and the given servers; it must succeed."""
    missing = [m for m in GENERATOR_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise SkipTest(f"bench extras not installed ({', '.join(missing)})")
    argv = [sys.executable, "-m", "bench", "--quick", "--workloads", workload]
    done = subprocess.run(
        [*argv, "--servers", servers],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": REPO_ROOT},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(done.stderr[-3000:])
    return done
