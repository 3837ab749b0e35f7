"""The benchmark's smoke runs: `python -m bench --quick` on one workload, socialhub (SQLite) and
the bare Autobahn relay only, in a few seconds; the typing storm on socialhub (SQLite); one
kill -9 of `python -m bench.faults` and a 50-socket `python -m bench.soak`. They check the tools
work end to end (servers start, the generator measures, the table or the verdict prints), not
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

    def test_one_kill9_under_load_loses_no_ack(self) -> None:
        """`python -m bench.faults kill9` with one SIGKILL on SQLite: the server is started
        again, the senders finish, and the check finds every ack in history, once."""
        done = run_script("bench.faults", "kill9", "--engine", "sqlite", "--cycles", "1")
        self.assertIn("kill9 1: ", done.stdout)
        self.assertIn("acked but lost 0, stored twice 0,", done.stdout)
        self.assertEqual(done.stdout.splitlines()[-1], "PASS", done.stdout)

    def test_short_soak_returns_every_descriptor(self) -> None:
        """`python -m bench.soak` with 50 sockets: samples printed, every message acked, and
        the server's descriptors back to the baseline once the sockets are closed."""
        args = ("--sockets", "50", "--minutes", "0.1", "--warmup", "0.05", "--sample", "2")
        done = run_script("bench.soak", *args)
        self.assertIn("sockets open 50, still open at the end 50", done.stdout)
        baseline = re.search(
            r"descriptors baseline (\d+), with sockets (\d+), after close (\d+)", done.stdout
        )
        assert baseline is not None, done.stdout
        self.assertEqual(int(baseline[2]), int(baseline[1]) + 50, done.stdout)
        self.assertEqual(baseline[3], baseline[1], done.stdout)
        self.assertEqual(done.stdout.splitlines()[-1], "PASS", done.stdout)


def run_bench(workload: str, servers: str) -> subprocess.CompletedProcess[str]:
    """`python -m bench --quick` on one workload and the given servers; it must succeed."""
    return run_script("bench", "--quick", "--workloads", workload, "--servers", servers)


def run_script(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m <module> <args>` from this checkout; it must succeed."""
    missing = [m for m in GENERATOR_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise SkipTest(f"bench extras not installed ({', '.join(missing)})")
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
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
