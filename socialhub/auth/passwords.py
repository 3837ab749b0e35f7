"""Password hashing with argon2id, off the reactor thread and bounded in concurrency.

A hash costs hundreds of milliseconds of CPU by design, so it runs in a small thread pool of
its own: logins queue there instead of stalling every connection on the reactor.
"""

from __future__ import annotations

import argon2
from twisted.internet.interfaces import IReactorThreads
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool


class PasswordHasher:
    """argon2id hashes and checks with the configured cost."""

    def __init__(
        self, reactor: IReactorThreads, time_cost: int, memory_kib: int, threads: int
    ) -> None:
        self._reactor = reactor
        self._argon2 = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=1, type=argon2.Type.ID
        )
        self._pool = ThreadPool(minthreads=0, maxthreads=threads, name="password-hashing")
        # Checked when the user is unknown, so that answer takes as long as a wrong password.
        self._dummy_hash = self._argon2.hash("not a password of anyone")

    def start(self) -> None:
        self._pool.start()

    def stop(self) -> None:
        self._pool.stop()

    async def hash(self, password: str) -> str:
        result: str = await deferToThreadPool(
            self._reactor, self._pool, self._argon2.hash, password
        )
        return result

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; with no hash (unknown user) it costs the same and fails."""
        matched: bool = await deferToThreadPool(
            self._reactor, self._pool, self._check, password_hash or self._dummy_hash, password
        )
        return matched and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the configured ones."""
        return self._argon2.check_needs_rehash(password_hash)

    def _check(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False
