"""Prometheus metrics of one server, in a registry of its own (several servers may share a test)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import INF, floatToGoString

# Metrics counted for every frame are kept as plain numbers and read when /metrics is scraped:
# prometheus_client's take a lock on each change (a counter's inc 0.22 us, a histogram's observe
# 0.5 us, ~1 us of a relayed message's ~40). Only the reactor's thread counts and scrapes.


class ByLabel:
    """A counter with one label (prometheus_client's `labels()` also builds a key per call)."""

    def __init__(
        self, registry: CollectorRegistry, name: str, documentation: str, label: str
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._label = label
        self._counts: dict[str, float] = {}
        registry.register(self)

    def inc(self, value: str) -> None:
        self._counts[value] = self._counts.get(value, 0.0) + 1.0

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._documentation, labels=[self._label])
        for value, count in self._counts.items():
            family.add_metric([value], count)
        yield family


class Latencies:
    """A histogram of seconds, with prometheus_client's default buckets."""

    def __init__(self, registry: CollectorRegistry, name: str, documentation: str) -> None:
        self._name = name
        self._documentation = documentation
        self._bounds = [bound for bound in Histogram.DEFAULT_BUCKETS if bound != INF]
        self._counts = [0] * (len(self._bounds) + 1)  # the last: above every bound
        self._sum = 0.0
        registry.register(self)

    def observe(self, seconds: float) -> None:
        self._counts[bisect_left(self._bounds, seconds)] += 1  # a bucket counts values <= it
        self._sum += seconds

    def collect(self) -> Iterator[Metric]:
        cumulative = list(accumulate(self._counts))
        buckets = [(floatToGoString(b), n) for b, n in zip(self._bounds, cumulative, strict=False)]
        buckets.append(("+Inf", cumulative[-1]))
        yield HistogramMetricFamily(
            self._name, self._documentation, buckets=buckets, sum_value=self._sum
        )


class Metrics:
    """Every metric socialhub exports at /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_responses = ByLabel(
            self.registry, "socialhub_http_responses", "HTTP responses by status code", "status"
        )
        self.open_connections = Gauge(
            "socialhub_websocket_connections", "Open WebSocket connections", registry=self.registry
        )
        self.frames_in = ByLabel(
            self.registry, "socialhub_frames_in", "Client frames received, by type", "type"
        )
        self.frames_out = ByLabel(
            self.registry, "socialhub_frames_out", "Frames sent to clients, by type", "type"
        )
        self.deliveries = Counter(
            "socialhub_deliveries", "Frames delivered to connections", registry=self.registry
        )
        self.rate_limited = Counter(
            "socialhub_rate_limited_frames",
            "Client frames refused by the rate limit",
            registry=self.registry,
        )
        self.persistence_latency = Latencies(
            self.registry,
            "socialhub_persistence_seconds",
            "Time from receiving a frame to its commit",
        )

        self.bus_published = Counter(
            "socialhub_bus_published", "Messages published on the bus", registry=self.registry
        )
        self.bus_dropped = Counter(
            "socialhub_bus_dropped",
            "Bus messages dropped or failed while the broker was unreachable",
            registry=self.registry,
        )
        self.bus_lag = Histogram(
            "socialhub_bus_lag_seconds",
            "Time from publishing on the bus to receiving in another process",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
