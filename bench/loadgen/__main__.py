"""`python -m bench.loadgen SPEC.json`: run one measurement, print its figures as JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import uvloop

from bench.loadgen import connections, groups, history, presence, relay, typing_storm
from bench.loadgen.spec import Spec
from bench.procs import raise_open_file_limit

WORKLOADS: dict[str, Callable[[Spec], Coroutine[Any, Any, dict[str, float]]]] = {
    "private": relay.saturate,
    "bus": relay.saturate,
    "latency": relay.fixed_rate,
    "broadcast": groups.broadcast,
    "fanout": groups.fanout,
    "connections": connections.idle_sockets,
    "history": history.read_history,
    "typing": typing_storm.typing_storm,
    "presence": presence.come_and_go,
}


def main() -> None:
    spec = Spec.load(sys.argv[1])
    raise_open_file_limit()
    figures = uvloop.run(WORKLOADS[spec.workload](spec))
    print(json.dumps(figures), flush=True)  # json, not orjson: it keeps inf (never arrived)


if __name__ == "__main__":
    main()
