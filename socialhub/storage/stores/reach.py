"""The facts the private-message rule decides on, for many (sender, recipient) pairs at once.

The rule itself is handlers/policy.py's. It is asked just before a batch of messages is stored
(storage/stores/message_writer.py): one statement answers it for the whole batch.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from socialhub.storage.database import Prepared, Reader

Pair = tuple[int, int]  # (sender id, recipient id)


@dataclass(frozen=True)
class Reach:
    """What the database says about one sender and one recipient."""

    recipient_exists: bool
    recipient_private: bool
    blocked: bool  # either of the two blocks the other
    connected: bool  # either of the two follows the other, accepted


async def reach_of(reads: Reader, pairs: Collection[Pair]) -> dict[Pair, Reach]:
    """The facts of each pair, read by one statement."""
    if not pairs:
        return {}
    given, args = reads.relation(list(pairs), ("bigint", "bigint"))
    rows = await reads.fetch(
        Prepared(
            # The recipient's is_private (NULL: no such user), probed by primary key: a join let
            # PostgreSQL hash all users for a batch's 200 pairs.
            "SELECT p.column1, p.column2,"
            " (SELECT u.is_private FROM users u WHERE u.id = p.column2),"
            " EXISTS (SELECT 1 FROM blocks b WHERE"
            "  (b.blocker_id = p.column1 AND b.blocked_id = p.column2)"
            "  OR (b.blocker_id = p.column2 AND b.blocked_id = p.column1)),"
            " EXISTS (SELECT 1 FROM follows f WHERE f.status = 'accepted' AND ("
            "  (f.follower_id = p.column1 AND f.followee_id = p.column2)"
            "  OR (f.follower_id = p.column2 AND f.followee_id = p.column1)))"
            f" FROM {given} AS p"
        ),
        args,
    )
    return {
        (row[0], row[1]): Reach(row[2] is not None, bool(row[2]), bool(row[3]), bool(row[4]))
        for row in rows
    }
