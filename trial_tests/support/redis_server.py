"""A private redis-server on a free port, started and stopped by the test that needs it.

Tests never touch the machine's shared Redis: stopping or restarting theirs is part of what
they check.
"""

from __future__ import annotations

import shutil

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from trial_tests.support.processes import ServerProcess, free_port

START_TIMEOUT = 10.0


class _Ping(Protocol):
    def __init__(self) -> None:
        self.answered: Deferred[bytes] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(b"PING\r\n")

    def dataReceived(self, data: bytes) -> None:
        if not self.answered.called:
            self.answered.callback(data)
            assert self.transport is not None
            self.transport.loseConnection()


class _Info(Protocol):
    """Asks INFO commandstats and reads the whole bulk reply."""

    def __init__(self) -> None:
        self.answered: Deferred[bytes] = Deferred()
        self._data = b""

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(b"INFO commandstats\r\n")

    def dataReceived(self, data: bytes) -> None:
        self._data += data
        header, _, body = self._data.partition(b"\r\n")
        if header.startswith(b"$") and len(body) >= int(header[1:]) and not self.answered.called:
            self.answered.callback(body[: int(header[1:])])
            assert self.transport is not None
            self.transport.loseConnection()


async def _answers(port: int) -> bool:
    try:
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=1)
        ping = await connectProtocol(endpoint, _Ping())
        answer: bytes = await ping.answered.addTimeout(1, reactor)
        return answer.startswith(b"+PONG")
    except Exception:
        return False


class RedisServer:
    """One redis-server process; `url` for --redis; stop() and start() to simulate an outage."""

    def __init__(self, testcase: TestCase) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._testcase = testcase
        self._process: ServerProcess | None = None

    async def start(self) -> None:
        executable = shutil.which("redis-server")
        assert executable is not None, "redis-server is not installed"
        argv = [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no"]
        self._process = ServerProcess(self.port)
        reactor.spawnProcess(self._process, executable, argv, env={})
        for _ in range(int(START_TIMEOUT * 20)):
            if await _answers(self.port):
                return
            await deferLater(reactor, 0.05, lambda: None)
        raise AssertionError("redis-server did not start: " + self._process.output.decode())

    async def command_calls(self) -> dict[str, int]:
        """How many times each command ran, from INFO commandstats (`cmdstat_eval:calls=1,...`)."""
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port, timeout=1)
        info = await connectProtocol(endpoint, _Info())
        text = (await info.answered.addTimeout(START_TIMEOUT, reactor)).decode()
        calls = {}
        for line in text.splitlines():
            if line.startswith("cmdstat_"):
                name, _, stats = line[len("cmdstat_") :].partition(":")
                calls[name] = int(stats.split(",")[0].partition("=")[2])
        return calls

    async def stop(self) -> None:
        if self._process is not None:
            await self._process.signal("KILL")
            self._process = None


async def start_redis(testcase: TestCase) -> RedisServer:
    """A running private Redis, stopped when the test ends."""
    server = RedisServer(testcase)
    await server.start()
    testcase.addCleanup(server.stop)
    return server
