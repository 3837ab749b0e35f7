"""socialhub's own counters and histogram (socialhub/metrics.py) read as prometheus_client's."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from twisted.trial.unittest import TestCase

from socialhub.metrics import ByLabel, Latencies, LatenciesByLabels

SECONDS = [0.0, 0.001, 0.005, 0.0050001, 0.3, 2.5, 9.99, 10.0, 11.0, 0.07]


class MetricsTests(TestCase):
    def test_latencies_render_as_a_prometheus_histogram(self) -> None:
        """The same observations, boundaries and overflow included, render alike."""
        ours, theirs = CollectorRegistry(), CollectorRegistry()
        latencies = Latencies(ours, "x_seconds", "help")
        histogram = Histogram("x_seconds", "help", registry=theirs)
        for seconds in SECONDS:
            latencies.observe(seconds)
            histogram.observe(seconds)
        self.assertEqual(_without_created(ours), _without_created(theirs))

    def test_by_label_renders_as_a_prometheus_counter(self) -> None:
        ours, theirs = CollectorRegistry(), CollectorRegistry()
        counts = ByLabel(ours, "frames", "help", "type")
        counter = Counter("frames", "help", ["type"], registry=theirs)
        for kind in ("private", "group", "private", "ack"):
            counts.inc(kind)
            counter.labels(kind).inc()
        self.assertEqual(_without_created(ours), _without_created(theirs))

    def test_latencies_by_labels_render_as_a_labelled_prometheus_histogram(self) -> None:
        ours, theirs = CollectorRegistry(), CollectorRegistry()
        latencies = LatenciesByLabels(ours, "x_seconds", "help", ["method", "route"])
        histogram = Histogram("x_seconds", "help", ["method", "route"], registry=theirs)
        for n, seconds in enumerate(SECONDS):
            labels = ("GET", "/api/posts/{post_id}") if n % 3 else ("POST", "/api/posts")
            latencies.observe(labels, seconds)
            histogram.labels(*labels).observe(seconds)
        self.assertEqual(_without_created(ours), _without_created(theirs))


def _without_created(registry: CollectorRegistry) -> list[str]:
    """The rendered lines but prometheus_client's `_created` timestamps, sorted."""
    lines = generate_latest(registry).decode().splitlines()
    return sorted(line for line in lines if "_created" not in line)
