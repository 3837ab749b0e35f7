"""Real `twistd socialhub` processes, for tests that kill, restart or multiply servers."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Sequence
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.task import deferLater
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from trial_tests.support.harness import Client

# The checkout: trial_tests/support/ is two levels below it.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START_TIMEOUT = 30.0
# harness.NO_REQUEST_LIMITS on the command line.
NO_REQUEST_LIMIT_OPTIONS = ("--rest-rate-limit", "0", "--address-rate-limit", "0")


def server_environment() -> dict[str, str]:
    """This process's environment for a server process run from the checkout, without any
    SOCIALHUB_* variable: a server under test takes its options from its command line only
    (and refuses a SOCIALHUB_* variable that is not an option, such as SOCIALHUB_TEST_PG)."""
    kept = {name: value for name, value in os.environ.items() if not name.startswith("SOCIALHUB_")}
    return {**kept, "PYTHONPATH": REPO_ROOT}


def free_port() -> int:
    """A TCP port nobody listens on right now (the process binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess(ProcessProtocol):
    """One server process; `ended` fires with its exit status when it is gone."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.output = bytearray()
        self.ended: Deferred[Any] = Deferred()

    def outReceived(self, data: bytes) -> None:
        self.output += data

    errReceived = outReceived

    def processEnded(self, reason: Failure) -> None:
        self.ended.callback(reason.value)

    def client(self) -> Client:
        return Client(self.url)

    async def signal(self, name: str) -> Any:
        """Send SIGTERM / SIGKILL and wait until the process has exited."""
        if not self.ended.called:
            assert self.transport is not None
            self.transport.signalProcess(name)
        return await self.ended

    async def wait_ready(self) -> None:
        """Poll /healthz until the server answers, or fail after START_TIMEOUT seconds."""
        client = self.client()
        for _ in range(int(START_TIMEOUT * 10)):
            if self.ended.called:
                raise AssertionError("server exited:\n" + self.output.decode(errors="replace"))
            try:
                if (await client.get("/healthz")).status == 200:
                    return
            except (ConnectionRefusedError, OSError):
                pass
            await deferLater(reactor, 0.1, lambda: None)
        raise AssertionError("server did not start:\n" + self.output.decode(errors="replace"))


async def start_process(
    testcase: TestCase,
    database: str,
    *options: str,
    port: int | None = None,
    launcher: Sequence[str] = (),
) -> ServerProcess:
    """Start `twistd -n socialhub` on a free port; it is killed when the test ends. `launcher`
    goes between the interpreter and twistd (`-m module` that sets up the process, then execs
    the interpreter with the rest of its arguments)."""
    process = ServerProcess(port or free_port())
    argv = [
        sys.executable,
        *launcher,
        "-c",
        "from twisted.scripts.twistd import run; run()",
        "-n",
        "--pidfile=",
        "socialhub",
        "--listen",
        f"tcp:{process.port}:interface=127.0.0.1",
        "--database",
        database,
        "--password-time-cost",
        "1",
        "--password-memory-kib",
        "8",
        *NO_REQUEST_LIMIT_OPTIONS,
        *options,  # after the defaults: the last of an option given twice wins
    ]
    reactor.spawnProcess(process, sys.executable, argv, env=server_environment(), path=REPO_ROOT)
    testcase.addCleanup(process.signal, "KILL")
    await process.wait_ready()
    return process
