"""The SQL of presence: a user's audience, the one rule of who sees whom online.

A user's audience is everyone they follow or who follows them (accepted) and everyone they have
a private conversation with, less anyone blocked either way. The relation is symmetric, so the
presences a viewer may see are those of their own audience who show theirs: both questions read
the same `_AUDIENCE` statement, one query each, however large the audience.
"""

from __future__ import annotations

from collections.abc import Sequence

from socialhub.storage.database import Database

# The audience of the user given six times as `?` (peers as `a.peer`).
_AUDIENCE = (
    "SELECT a.peer FROM ("
    "SELECT followee_id AS peer FROM follows WHERE follower_id = ? AND status = 'accepted'"
    " UNION SELECT follower_id FROM follows WHERE followee_id = ? AND status = 'accepted'"
    " UNION SELECT pair_high FROM private_conversations WHERE pair_low = ?"
    " UNION SELECT pair_low FROM private_conversations WHERE pair_high = ?"
    ") a WHERE NOT EXISTS (SELECT 1 FROM blocks b"
    " WHERE (b.blocker_id = ? AND b.blocked_id = a.peer)"
    " OR (b.blocker_id = a.peer AND b.blocked_id = ?))"
)
# ... when the user shows their presence, or whether or not they do (the last `?`).
_AUDIENCE_OF = (
    f"{_AUDIENCE} AND EXISTS (SELECT 1 FROM users u WHERE u.id = ? AND (u.show_presence OR ?))"
)
# ... those of them listed who show their own presence.
_SHOWN = " AND EXISTS (SELECT 1 FROM users u WHERE u.id = a.peer AND u.show_presence)"


class PresenceStore:
    """Who sees whose presence."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def audience(self, user_id: int, hidden_too: bool = False) -> list[int]:
        """The user's audience: empty while they hide their presence, unless `hidden_too`."""
        rows = await self._db.read(
            "presence_audience", _AUDIENCE_OF, (*[user_id] * 6, user_id, hidden_too)
        )
        return [row[0] for row in rows]

    async def visible(self, viewer_id: int, user_ids: Sequence[int]) -> set[int]:
        """Those of `user_ids` whose presence the viewer may see: they show it, and the viewer
        is in their audience (they are in the viewer's)."""
        listed = ", ".join("?" * len(user_ids))
        sql = f"{_AUDIENCE} AND a.peer IN ({listed}){_SHOWN}"
        rows = await self._db.read("presence_visible", sql, (*[viewer_id] * 6, *user_ids))
        return {row[0] for row in rows}
