"""Child processes of a benchmark run: started in their own process group, always killed.

Every process the run starts is recorded here, and `kill_all` (called from a `finally`, from
atexit and on SIGTERM) ends each of them by its own process group id: nothing else is touched.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import resource
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0

_started: list[subprocess.Popen[bytes]] = []


class StartError(RuntimeError):
    """A server did not come up; the message ends with the tail of its log."""


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def raise_open_file_limit() -> int:
    """Lift the soft open-file limit to the hard one (children inherit it); returns it.

    10,000 sockets need 10,000 descriptors in the generator and in the server alike.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def spawn(
    argv: Sequence[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a process in a new session (its own process group), output into `log`."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=log.parent,
            start_new_session=True,
        )
    _started.append(process)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process's group, SIGKILL it if it lingers."""
    stop_many([process])


def stop_many(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop several at once: all are told first, then waited for (each takes a second or two
    to shut down cleanly)."""
    for process in processes:
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)
        if process in _started:
            _started.remove(process)


def kill9(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process's group at once, as a crash would, and reap it."""
    _signal_group(process, signal.SIGKILL)
    process.wait(STOP_TIMEOUT)
    if process in _started:
        _started.remove(process)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)  # the group we created with start_new_session


def kill_all() -> None:
    """Kill every process this run started and has not stopped yet."""
    for process in list(_started):
        _signal_group(process, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_TIMEOUT)
        _started.remove(process)


def install_cleanup() -> None:
    """Kill the children at exit, on SIGTERM and on Ctrl-C: both signals raise
    KeyboardInterrupt, which unwinds through the `finally` that stops everything. SIGINT is
    set explicitly because a shell starting us in the background leaves it ignored."""
    atexit.register(kill_all)

    def terminated(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminated)
    signal.signal(signal.SIGINT, terminated)


def wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Wait until something accepts on the port, or fail when the process exits or times out."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartError(f"exited with {process.returncode}:\n{tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise StartError(f"not listening on {port} after {START_TIMEOUT:.0f} s:\n{tail(log)}")


def wait_for_line(process: subprocess.Popen[bytes], log: Path, text: str) -> None:
    """Wait until the log holds `text` (a second process on a shared port is only known
    to listen from its own log)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartError(f"exited with {process.returncode}:\n{tail(log)}")
        if text in log.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise StartError(f"no {text!r} after {START_TIMEOUT:.0f} s:\n{tail(log)}")


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run_json(argv: Sequence[str], log: Path, timeout: float) -> str:
    """Run a child to completion (killed after `timeout`); its last stdout line."""
    with log.open("ab") as errors:
        process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            start_new_session=True,
        )
        _started.append(process)
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop(process)
            raise StartError(f"load generator killed after {timeout:.0f} s:\n{tail(log)}") from None
        _started.remove(process)
    lines = out.decode(errors="replace").strip().splitlines()
    if process.returncode != 0 or not lines:
        raise StartError(f"load generator failed ({process.returncode}):\n{tail(log)}")
    return lines[-1]
