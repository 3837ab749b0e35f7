"""py-spy on socialhub's processes while the generator measures (`python -m bench --profile`).

py-spy samples from outside without pausing the process (--nonblocking), so the measurement
goes on almost undisturbed; its raw output is what bench/profiles.py summarizes. Note that it
samples wall-clock stacks: on a machine short of CPU, time spent waiting to be scheduled shows
up in whatever frame was running.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from pathlib import Path

from bench import procs
from bench.loadgen.spec import Spec


def start(directory: Path, name: str, pids: list[int], spec: Spec) -> list[subprocess.Popen[bytes]]:
    """Start one py-spy per process, sampling during the warm-up and the window."""
    executable = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(executable).exists():
        print("# py-spy is not installed: no profile", file=sys.stderr)
        return []
    directory.mkdir(parents=True, exist_ok=True)
    duration = max(1, round(spec.settle + spec.warmup + spec.seconds))
    spies = []
    for number, pid in enumerate(pids):
        out = directory / f"{name}-{number}.txt"
        argv = [executable, "record", "--pid", str(pid), "--duration", str(duration)]
        argv += ["--rate", "200", "--format", "raw", "--nonblocking", "-o", str(out)]
        spies.append(procs.spawn(argv, directory / f"{name}-{number}.log"))
    return spies


def finish(spies: list[subprocess.Popen[bytes]]) -> None:
    for spy in spies:
        with contextlib.suppress(subprocess.TimeoutExpired):
            spy.wait(procs.STOP_TIMEOUT * 4)
        procs.stop(spy)
