"""Prometheus metrics of one server, in a registry of its own (several servers may share a test)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from itertools import accumulate

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
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


_BOUNDS = [bound for bound in Histogram.DEFAULT_BUCKETS if bound != INF]


class _Buckets:
    """The counts of one histogram series, with prometheus_client's default buckets."""

    def __init__(self) -> None:
        self.counts = [0] * (len(_BOUNDS) + 1)  # the last: above every bound
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(_BOUNDS, seconds)] += 1  # a bucket counts values <= it
        self.sum += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        cumulative = list(accumulate(self.counts))
        buckets = [(floatToGoString(b), n) for b, n in zip(_BOUNDS, cumulative, strict=False)]
        buckets.append(("+Inf", cumulative[-1]))
        return [(bound, float(count)) for bound, count in buckets]


class Latencies:
    """A histogram of seconds, with prometheus_client's default buckets."""

    def __init__(self, registry: CollectorRegistry, name: str, documentation: str) -> None:
        self._name = name
        self._documentation = documentation
        self._series = _Buckets()
        registry.register(self)

    def observe(self, seconds: float) -> None:
        self._series.observe(seconds)

    def collect(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(
            self._name,
            self._documentation,
            buckets=self._series.cumulative(),
            sum_value=self._series.sum,
        )


class LatenciesByLabels:
    """A histogram of seconds with labels, whose values must be few (route patterns, never
    raw paths): one series per combination seen."""

    def __init__(
        self, registry: CollectorRegistry, name: str, documentation: str, labels: Sequence[str]
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labels = list(labels)
        self._series: dict[tuple[str, ...], _Buckets] = {}
        registry.register(self)

    def observe(self, values: tuple[str, ...], seconds: float) -> None:
        series = self._series.get(values)
        if series is None:
            series = self._series[values] = _Buckets()
        series.observe(seconds)

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self._name, self._documentation, labels=self._labels)
        for values, series in self._series.items():
            family.add_metric(list(values), series.cumulative(), series.sum)
        yield family


def socialhub_version() -> str:
    """The installed distribution's version ("unknown" when run from an uninstalled tree)."""
    try:
        return importlib.metadata.version("socialhub")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class BuildInfo:
    """`socialhub_build_info{version, python, pid} 1`: which build runs, and which process
    answered (several may share a port with --reuse-port)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._labels = {
            "version": socialhub_version(),
            "python": platform.python_version(),
        }
        registry.register(self)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "socialhub_build_info",
            "The running version, Python and process id; always 1",
            labels=[*self._labels, "pid"],
        )
        family.add_metric([*self._labels.values(), str(os.getpid())], 1.0)
        yield family


class Metrics:
    """Every metric socialhub exports at /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # The process's CPU, memory and descriptors, and Python's version and collector:
        # prometheus_client registers these in its global registry only.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        BuildInfo(self.registry)
        self.http_latency = LatenciesByLabels(
            self.registry,
            "socialhub_http_request_duration_seconds",
            "Time from a request's first line to its last byte, by method and route pattern",
            ["method", "route"],
        )
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
        self.database_latency = Latencies(
            self.registry,
            "socialhub_database_seconds",
            "Time from asking for a database transaction to its result",
        )
        self.bus_published = Counter(
            "socialhub_bus_published", "Messages published on the bus", registry=self.registry
        )
        self.bus_dropped = Counter(
            "socialhub_bus_dropped",
            "Bus messages dropped or failed while the broker was unreachable",
            registry=self.registry,
        )
        self.bus_up = Gauge(
            "socialhub_bus_up",
            "1 while the bus can carry messages (Redis connected, or the in-process bus)",
            registry=self.registry,
        )
        self.bus_lag = Histogram(
            "socialhub_bus_lag_seconds",
            "Time from publishing on the bus to receiving in another process",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
