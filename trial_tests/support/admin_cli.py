"""The `socialhub-admin` console script run as a real process, as an operator runs it."""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ProcessProtocol
from twisted.python.failure import Failure

from trial_tests.support.processes import REPO_ROOT

# Cheap hashing, as the test servers use (trial_tests/support/harness.py's test_config).
CHEAP_HASHING = ("--password-time-cost", "1", "--password-memory-kib", "8")


@dataclasses.dataclass
class Finished:
    """How a run of the command ended."""

    code: int
    out: str
    err: str


class _Collect(ProcessProtocol):
    def __init__(self, stdin: bytes | None) -> None:
        self._stdin = stdin
        self.out = bytearray()
        self.err = bytearray()
        self.ended: Deferred[int] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        if self._stdin is not None:
            self.transport.write(self._stdin)
        self.transport.closeStdin()

    def outReceived(self, data: bytes) -> None:
        self.out += data

    def errReceived(self, data: bytes) -> None:
        self.err += data

    def processEnded(self, reason: Failure) -> None:
        ended: Any = reason.value  # ProcessDone or ProcessTerminated
        self.ended.callback(ended.exitCode)


async def run_admin(
    *arguments: str, stdin: bytes | None = None, environment: dict[str, str] | None = None
) -> Finished:
    """`python -m socialhub.admin_cli ARGUMENTS` with this checkout first on the path; its
    standard input is `stdin` (or closed at once), so no terminal prompt is ever shown. Of the
    `SOCIALHUB_*` variables it sees only those of `environment`."""
    process = _Collect(stdin)
    argv = [sys.executable, "-m", "socialhub.admin_cli", *arguments]
    env = {name: value for name, value in os.environ.items() if not name.startswith("SOCIALHUB_")}
    env.update(environment or {}, PYTHONPATH=REPO_ROOT)
    reactor.spawnProcess(process, sys.executable, argv, env=env, path=REPO_ROOT)
    code = await process.ended
    return Finished(code, process.out.decode(), process.err.decode())
