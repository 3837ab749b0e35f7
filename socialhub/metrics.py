"""Prometheus metrics of one server, in a registry of its own (several servers may share a test)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class ByLabel:
    """A counter with one label, its children looked up once per value: prometheus_client's
    `labels()` takes a lock and builds a key on every call, which showed as a tenth of a relay's
    CPU when called for every frame."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._children: dict[str, Counter] = {}

    def inc(self, value: str) -> None:
        child = self._children.get(value)
        if child is None:
            child = self._children[value] = self._counter.labels(value)
        child.inc()


class Metrics:
    """Every metric socialhub exports at /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_responses = ByLabel(
            Counter(
                "socialhub_http_responses",
                "HTTP responses by status code",
                ["status"],
                registry=self.registry,
            )
        )
        self.open_connections = Gauge(
            "socialhub_websocket_connections", "Open WebSocket connections", registry=self.registry
        )
        self.frames_in = ByLabel(
            Counter(
                "socialhub_frames_in",
                "Client frames received, by type",
                ["type"],
                registry=self.registry,
            )
        )
        self.frames_out = ByLabel(
            Counter(
                "socialhub_frames_out",
                "Frames sent to clients, by type",
                ["type"],
                registry=self.registry,
            )
        )
        self.deliveries = Counter(
            "socialhub_deliveries", "Frames delivered to connections", registry=self.registry
        )
        self.rate_limited = Counter(
            "socialhub_rate_limited_frames",
            "Client frames refused by the rate limit",
            registry=self.registry,
        )
        self.persistence_latency = Histogram(
            "socialhub_persistence_seconds",
            "Time from receiving a frame to its commit",
            registry=self.registry,
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
