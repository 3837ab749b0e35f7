"""What an operator reads from a real `twistd socialhub` process: JSON log lines (access log,
authentication events, refused upgrades), and its own /metrics on --metrics-listen."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from trial_tests.support.harness import Client
from trial_tests.support.processes import REPO_ROOT, ServerProcess, free_port, start_process
from trial_tests.support.wsclient import WsRefused, connect

DASHBOARD = os.path.join(REPO_ROOT, "docs", "deploy", "grafana-socialhub.json")
SECRET = "tok3n-in-the-query"
PASSWORD = "not-her-password"
# The sample names each family type exposes (prometheus_client's parser strips the suffixes).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "info": ("_info",),
    "summary": ("", "_sum", "_count", "_created"),
}
WAIT_SECONDS = 10.0


class ObservabilityTests(TestCase):
    timeout = 60

    async def start(self) -> tuple[ServerProcess, Client]:
        """A server on a fresh SQLite file logging JSON with the access log, and a client of
        its own metrics listener."""
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        metrics_port = free_port()
        process = await start_process(
            self,
            f"sqlite:{directory}/socialhub.sqlite3",
            "--media-dir",
            os.path.join(directory, "media"),
            "--log-format",
            "json",
            "--access-log",
            "--metrics-listen",
            f"tcp:{metrics_port}:interface=127.0.0.1",
        )
        return process, Client(f"http://127.0.0.1:{metrics_port}")

    async def log_lines(self, process: ServerProcess, *expected: str) -> list[dict[str, Any]]:
        """Every line the process wrote, each parsed as JSON, once each of `expected` is in the
        output; the process is then stopped so that the whole output has been read."""
        for _ in range(int(WAIT_SECONDS * 10)):
            if all(text.encode() in process.output for text in expected):
                break
            await deferLater(reactor, 0.1, lambda: None)
        await process.signal("TERM")
        text = process.output.decode()
        records = [json.loads(line) for line in text.splitlines()]  # fails on any other line
        for record in records:
            self.assertIsInstance(record, dict, record)
            for field in ("time", "level", "namespace", "message"):
                self.assertIn(field, record, record)
            self.assertRegex(record["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        return records

    async def test_json_log_lines(self) -> None:
        """One JSON object per line: the access log without the query string, a failed login
        with the name and address (no password), a refused upgrade at info, no warnings."""
        process, _ = await self.start()
        client = process.client()
        self.assertEqual((await client.get(f"/api/posts/1?token={SECRET}")).status, 401)
        login = {"username": "Mallory", "password": PASSWORD}
        self.assertEqual((await client.post("/api/auth/login", json=login)).status, 401)
        refused = Deferred.fromCoroutine(connect(process.url, None, origin="http://evil.example"))
        refusal: Any = await self.assertFailure(refused, WsRefused)
        self.assertEqual(refusal.status, 403)

        records = await self.log_lines(process, "login failed", "refused a WebSocket upgrade")
        self.assertNotIn(SECRET, process.output.decode())
        self.assertNotIn(PASSWORD, process.output.decode())
        self.assertEqual([r for r in records if r["level"] not in ("info", "debug")], [])
        access = _by(records, "socialhub.access", method="GET", route="/api/posts/{post_id}")
        self.assertEqual(access["path"], "/api/posts/1")
        self.assertEqual(access["status"], 401)
        self.assertEqual((access["client"], access["user_id"]), ("127.0.0.1", None))
        self.assertGreater(access["bytes"], 0)
        self.assertGreaterEqual(access["duration"], 0)
        failed = _by(records, "socialhub.auth")
        self.assertEqual((failed["login"], failed["client"]), ("mallory", "127.0.0.1"))
        self.assertIn("login failed", failed["message"])
        upgrade = _by(records, "socialhub.ws")
        self.assertEqual((upgrade["level"], upgrade["status"]), ("info", 403))
        self.assertEqual(upgrade["client"], "127.0.0.1")

    async def test_metrics_listener(self) -> None:
        """The process's own /metrics: process and Python collectors, build info with its pid,
        request latency by route pattern; the main port's /metrics names its process too."""
        process, metrics = await self.start()
        self.assertEqual((await process.client().get("/api/posts/1")).status, 401)
        text = (await metrics.get("/metrics")).raw.decode()
        samples = {sample.name: sample for family in _families(text) for sample in family.samples}
        for name in ("process_cpu_seconds_total", "process_open_fds", "process_max_fds"):
            self.assertGreater(samples[name].value, 0, name)
        self.assertIn("python_gc_collections_total", samples)
        self.assertEqual(samples["python_info"].value, 1)
        assert process.transport is not None
        pid = str(process.transport.pid)
        build = samples["socialhub_build_info"]
        self.assertEqual((build.labels["pid"], build.value), (pid, 1))
        self.assertTrue(build.labels["version"] and build.labels["python"])
        self.assertIn('pid="' + pid + '"', (await process.client().get("/metrics")).raw.decode())
        count = _sample(text, "socialhub_http_request_duration_seconds_count")
        self.assertEqual(count["route=/api/posts/{post_id}"], 1)
        self.assertNotIn("/api/posts/1", text)
        self.assertEqual((await metrics.get("/api/posts/1")).status, 404)

    async def test_dashboard_queries_name_exposed_metrics(self) -> None:
        """Every metric the Grafana dashboard queries is one the server exposes."""
        process, metrics = await self.start()
        await process.client().get("/healthz")
        exposed: set[str] = set()
        for family in _families((await metrics.get("/metrics")).raw.decode()):
            exposed.update(family.name + suffix for suffix in SUFFIXES[family.type])
        used = dashboard_metrics()
        self.assertGreater(len(used), 10)
        self.assertEqual(used - exposed, set())


def _families(text: str) -> Iterable[Any]:
    return text_string_to_metric_families(text)


def _sample(text: str, name: str) -> dict[str, float]:
    """The samples named `name`, keyed by their route label."""
    return {
        f"route={sample.labels.get('route')}": sample.value
        for family in _families(text)
        for sample in family.samples
        if sample.name == name
    }


def _by(records: list[dict[str, Any]], namespace: str, **fields: Any) -> dict[str, Any]:
    """The one record of `namespace` with these fields."""
    found = [
        r
        for r in records
        if r["namespace"] == namespace and all(r.get(k) == v for k, v in fields.items())
    ]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} records of {namespace} {fields}: {records}")
    return found[0]


def dashboard_metrics() -> set[str]:
    """The metric names in the dashboard's PromQL expressions."""
    with open(DASHBOARD) as dashboard:
        panels = json.load(dashboard)["panels"]
    expressions = [target["expr"] for panel in panels for target in panel.get("targets", [])]
    names = re.compile(r"\b(?:socialhub|process|python)_[a-z0-9_]+\b")
    return {name for expr in expressions for name in names.findall(expr)}
