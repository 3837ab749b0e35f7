"""Stand-ins that count what a store asks of the database: transactions, reads, statements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.internet.defer import Deferred

from socialhub.storage.database import Args, Database, Row, Transaction


class CountingDatabase:
    """A Database that counts its transactions and reads by description (the real one does the
    work); while `gate` is set, its transactions wait for it first."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.transactions: list[str] = []  # interactions and at_once, as they were asked for
        self.reads: list[str] = []
        self.gate: Deferred[None] | None = None
        self.at_gate: Deferred[None] = Deferred()  # fires when a transaction first waits there

    def __getattr__(self, name: str) -> Any:
        return getattr(self._database, name)

    async def interaction(self, description: str, body: Any) -> Any:
        await self._started(description)
        return await self._database.interaction(description, body)

    async def at_once(self, description: str, statements: Any) -> Any:
        await self._started(description)
        return await self._database.at_once(description, statements)

    async def read(self, description: str, sql: str, args: Any = ()) -> Any:
        self.reads.append(description)
        return await self._database.read(description, sql, args)

    async def _started(self, description: str) -> None:
        self.transactions.append(description)
        gate = self.gate
        if gate is not None:
            if not self.at_gate.called:
                self.at_gate.callback(None)
            await gate


class CountingTransaction:
    """A Transaction that counts the statements it runs."""

    def __init__(self, txn: Transaction) -> None:
        self._txn = txn
        self.statements = 0

    async def fetch(self, sql: str, args: Args = ()) -> list[Row]:
        self.statements += 1
        return await self._txn.fetch(sql, args)

    async def fetchone(self, sql: str, args: Args = ()) -> Row | None:
        self.statements += 1
        return await self._txn.fetchone(sql, args)

    async def run(self, sql: str, args: Args = ()) -> int:
        self.statements += 1
        return await self._txn.run(sql, args)

    def relation(self, rows: Sequence[Sequence[object]], types: Sequence[str]) -> tuple[str, Args]:
        return self._txn.relation(rows, types)  # a piece of a statement, not one

    async def lock(self, table: str, row_id: int) -> None:
        self.statements += 1
        await self._txn.lock(table, row_id)
