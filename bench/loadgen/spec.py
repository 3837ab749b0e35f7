"""One measurement, as the runner hands it to the generator (a JSON file: the 10,000 tokens
would not fit a command line)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Spec:
    workload: str  # private | latency | broadcast | fanout | connections | history | bus | typing
    # | presence
    protocol: str  # socialhub | plain | socketio (bench/loadgen/wire.py)
    port: int
    peer_file: str  # tokens (token -> user id) of every user
    pids: list[int]
    helper_pids: list[int] = field(default_factory=list)
    clients: int = 100
    window: int = 4  # frames in flight per client (saturation) or group messages (fan-out)
    rate: float = 2000.0  # offered messages/s (latency), broadcasts/s, typing frames/s per client
    settle: float = 0.5
    warmup: float = 1.0
    seconds: float = 5.0
    group_id: int = 1
    concurrency: int = 100  # handshakes at once (connections)
    hold: float = 2.0  # seconds the idle sockets are held and watched (connections)
    connect_budget: float = 90.0  # seconds for all handshakes; the rest count as errors
    ramp: float = 10.0  # seconds over which the presence workload's connects are spread
    layout: dict[str, int] = field(default_factory=dict)  # bench/fixtures.py Layout (history)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: str) -> Spec:
        return cls(**json.loads(Path(path).read_text()))

    def tokens(self) -> list[str]:
        """Tokens by user: element i opens a session of user i + 1."""
        mapping: dict[str, int] = json.loads(Path(self.peer_file).read_text())["tokens"]
        ordered = sorted(mapping.items(), key=lambda item: item[1])
        return [token for token, _ in ordered]
