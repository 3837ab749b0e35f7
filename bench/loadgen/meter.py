"""What a measuring window reads: wall time, the server's and helpers' CPU time from
/proc/<pid>/stat, the generator's own CPU time, and resident memory from /proc/<pid>/status."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads); 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def rss_bytes(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Window:
    """CPU and wall time between start() and stop()."""

    pids: Sequence[int]
    helper_pids: Sequence[int] = ()
    seconds: float = 0.0
    server_cpu: float = 0.0
    helper_cpu: float = 0.0
    generator_cpu: float = 0.0

    def _snapshot(self) -> tuple[float, float, float, float]:
        return (
            time.monotonic(),
            sum(cpu_seconds(pid) for pid in self.pids),
            sum(cpu_seconds(pid) for pid in self.helper_pids),
            own_cpu_seconds(),
        )

    def start(self) -> None:
        self._began = self._snapshot()

    def stop(self) -> None:
        end = self._snapshot()
        self.seconds, self.server_cpu, self.helper_cpu, self.generator_cpu = (
            b - a for a, b in zip(self._began, end, strict=True)
        )

    def figures(self, work: int) -> dict[str, float]:
        """CPU per unit of work (µs) and CPU shares (% of one core) over the window."""
        per = 1e6 / work if work else 0.0
        return {
            "server_cpu_pct": 100 * self.server_cpu / self.seconds,
            "helper_cpu_pct": 100 * self.helper_cpu / self.seconds,
            "gen_cpu_pct": 100 * self.generator_cpu / self.seconds,
            "cpu_us": self.server_cpu * per,
            "helper_cpu_us": self.helper_cpu * per,
        }
