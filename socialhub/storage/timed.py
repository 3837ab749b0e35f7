"""A Database that times every transaction it runs, for `socialhub_database_seconds`.

The time is the caller's: from asking for the transaction to its result, waits for a pooled
connection (or SQLite's one thread) included, which is what a request or a frame waits for.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from socialhub.metrics import Latencies
from socialhub.storage.database import Args, Database, Row, Statement, Transaction

if TYPE_CHECKING:
    from socialhub.storage.stores.message_rows import MessageRowsFactory

T = TypeVar("T")


class TimedDatabase:
    """`database`, with `interaction`, `read` and `at_once` observed by `latencies` (failed
    ones too: an unreachable database is slow before it is down)."""

    def __init__(self, database: Database, latencies: Latencies) -> None:
        self._database = database
        self._latencies = latencies

    @property
    def message_rows(self) -> MessageRowsFactory:
        return self._database.message_rows

    async def open(self) -> None:
        await self._database.open()

    async def close(self) -> None:
        await self._database.close()

    async def interaction(self, description: str, body: Callable[[Transaction], Awaitable[T]]) -> T:
        return await self._timed(self._database.interaction(description, body))

    async def read(self, description: str, sql: str, args: Args = ()) -> list[Row]:
        return await self._timed(self._database.read(description, sql, args))

    async def at_once(self, description: str, statements: Sequence[Statement]) -> list[Row]:
        return await self._timed(self._database.at_once(description, statements))

    async def _timed(self, work: Awaitable[T]) -> T:
        began = time.monotonic()
        try:
            return await work
        finally:
            self._latencies.observe(time.monotonic() - began)

    def relation(self, rows: Sequence[Sequence[object]], types: Sequence[str]) -> tuple[str, Args]:
        return self._database.relation(rows, types)

    async def lock_for_migrations(self, txn: Transaction) -> None:
        await self._database.lock_for_migrations(txn)

    def translate_ddl(self, sql: str) -> str | None:
        return self._database.translate_ddl(sql)

    async def tables(self) -> list[str]:
        return await self._database.tables()
