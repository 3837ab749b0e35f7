"""Taking stream positions inside a write transaction (see schema/0008_stream.sql).

Both functions update the single counter row, which locks it until the calling transaction
commits: positions therefore follow commit order across every process, with no gaps.
"""

from __future__ import annotations

from socialhub.storage.database import Prepared, Transaction


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
        Prepared(
            "UPDATE stream_position SET position = position + ? WHERE id = 1 RETURNING position"
        ),
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
