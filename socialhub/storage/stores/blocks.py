"""The SQL of blocking: who blocked whom, and what a block takes away.

A block and the removal of the follows and follow requests between the two, in both
directions, are one transaction: nobody ever sees the block with a follow still in place.
The rules that read blocks are elsewhere, each in one place: handlers/policy.py says what a
block refuses (follows and invitations read it here, with `blocked_between`, in the
transaction of their write), the write of a batch of messages refuses private ones in its own
SQL (storage/stores/message_rows.py), storage/stores/post_visibility.py hides the blocker's
posts, and NotificationsStore's insert drops the notifications a blocked user would cause the
blocker.
"""

from __future__ import annotations

from socialhub.storage.database import Database, Transaction, qualify, write
from socialhub.storage.stores.users import SHOWN_USER, USER_COLUMNS, User

_BETWEEN = (
    "SELECT 1 FROM blocks WHERE (blocker_id = ? AND blocked_id = ?)"
    " OR (blocker_id = ? AND blocked_id = ?)"
)


class Blocked(Exception):
    """Either of two users blocks the other, so a write that would connect them (a follow, an
    invitation) was not made."""


async def lock_pair(txn: Transaction, first_id: int, second_id: int) -> None:
    """Make the caller's transaction and any other that locks the same two users wait for each
    other: a block, and a follow or an invitation between them.

    Each statement of a PostgreSQL transaction (READ COMMITTED) sees what others committed
    before it began, but not what they have yet to commit: a follow that read no block, and a
    block that found no follow to remove, could both commit. Holding the lock, whichever comes
    second sees the other's work. The lock is the lower id's users row (`Transaction.lock`).
    """
    await txn.lock("users", min(first_id, second_id))


async def blocked_between(txn: Transaction, first_id: int, second_id: int) -> bool:
    """Whether either of the two blocks the other, for a write that a block refuses (a follow,
    an invitation), inside its transaction and once it holds the pair's lock (`lock_pair`)."""
    await lock_pair(txn, first_id, second_id)
    return await txn.fetchone(_BETWEEN, (first_id, second_id, second_id, first_id)) is not None


class BlocksStore:
    """Blocks between users."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def block(self, blocker_id: int, blocked_id: int, now: int) -> bool:
        """Block `blocked_id` and remove every follow and request between the two; a repeat
        keeps the first block (and clears the follows again). False when there is no such user, or
        none the blocker may see (a deactivated account: users.shown_to)."""

        async def insert(txn: Transaction) -> bool:
            await lock_pair(txn, blocker_id, blocked_id)
            if await txn.fetchone(SHOWN_USER, (blocked_id, blocker_id)) is None:
                return False
            await txn.run(
                "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (blocker_id, blocked_id, now),
            )
            await txn.run(
                "DELETE FROM follows WHERE (follower_id = ? AND followee_id = ?)"
                " OR (follower_id = ? AND followee_id = ?)",
                (blocker_id, blocked_id, blocked_id, blocker_id),
            )
            return True

        return await self._db.interaction("block_user", insert)

    async def unblock(self, blocker_id: int, blocked_id: int) -> None:
        """Lift the block, if any; the follows it removed stay removed."""

        await write(
            self._db,
            "unblock_user",
            "DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?",
            (blocker_id, blocked_id),
        )

    async def blocked_by(self, blocker_id: int, limit: int, offset: int) -> list[User]:
        """The users `blocker_id` blocks, most recent block first."""
        rows = await self._db.read(
            "list_blocks",
            f"SELECT {qualify(USER_COLUMNS, 'u')} FROM blocks b"
            " JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = ?"
            " ORDER BY b.id DESC LIMIT ? OFFSET ?",
            (blocker_id, limit, offset),
        )
        return [User.from_row(row) for row in rows]
