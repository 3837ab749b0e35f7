"""Taking stream positions inside a write transaction (see schema/0008_stream.sql).

Both functions update the single counter row, which locks it until the calling transaction
commits: positions therefore follow commit order across every process, with no gaps.
"""

from __future__ import annotations

from collections.abc import Sequence

from socialhub.storage.database import Row, Transaction


async def base(txn: Transaction) -> int:
    """Lock the counter for this transaction and return the last position handed out."""
    row = await txn.fetchone(
        "UPDATE stream_position SET position = position WHERE id = 1 RETURNING position"
    )
    assert row is not None
    return int(row[0])


async def advance(txn: Transaction, count: int) -> int:
    """Hand out `count` positions; returns the first of them."""
    row = await txn.fetchone(
        "UPDATE stream_position SET position = position + ? WHERE id = 1 RETURNING position",
        (count,),
    )
    assert row is not None
    return int(row[0]) - count + 1


async def give_back(txn: Transaction, count: int) -> None:
    """Return the last `count` positions this transaction took with `advance` and did not use.

    Safe only because `advance` locked the counter until this transaction ends: nobody can
    have taken a position after them, so lowering the counter leaves no gap and no repeat.
    """
    await txn.run("UPDATE stream_position SET position = position - ? WHERE id = 1", (count,))


async def insert_positioned(
    txn: Transaction, engine_name: str, into: str, rows: Sequence[Sequence[object]], returning: str
) -> list[Row]:
    """`INSERT INTO {into} VALUES ...` of `rows`, each followed by the next stream position
    (the last column of `into`); returns the inserted rows' `returning` columns.

    On PostgreSQL the counter's UPDATE runs as a CTE of the INSERT: one round trip instead of
    two, and the counter is locked for one statement less before the transaction commits (the
    next writer waits on that lock). SQLite has no UPDATE in a CTE: `advance`, then the INSERT.
    """
    width = ", ".join("?" for _ in rows[0])
    if engine_name == "postgres":
        values = ", ".join(f"({width}, (SELECT before FROM taken) + ?)" for _ in rows)
        args = [value for n, row in enumerate(rows, 1) for value in (*row, n)]
        return await txn.fetch(
            "WITH taken AS (UPDATE stream_position SET position = position + ? WHERE id = 1"
            f" RETURNING position - ? AS before) INSERT INTO {into} VALUES {values}"
            f" RETURNING {returning}",
            (len(rows), len(rows), *args),
        )
    first = await advance(txn, len(rows))
    values = ", ".join(f"({width}, ?)" for _ in rows)
    args = [value for n, row in enumerate(rows) for value in (*row, first + n)]
    return await txn.fetch(f"INSERT INTO {into} VALUES {values} RETURNING {returning}", args)
