"""SQLite's way of storing a batch of messages (see storage/stores/message_rows.py). It has
no data-modifying WITH: the steps are statements of one transaction, each a hop to its
thread rather than a trip over the network."""

from __future__ import annotations

from typing import Any

from socialhub.storage.database import Database, Transaction
from socialhub.storage.positions import advance
from socialhub.storage.stores.message_rows import (
    CLIENT_ID_TTL,
    COLUMNS,
    TYPES,
    Draft,
    Refused,
    Stored,
    draft_refusal,
    original_id,
)


class StepByStep:
    """The originals of the drafts' client ids looked up, the rules asked of the other private
    drafts and of replies, then positions taken for the rest and one multi-row INSERT. BEGIN
    IMMEDIATE holds the write lock from the start, so the look-up and the rules see everything
    committed before the batch's transaction began, and nobody takes a position meanwhile. The
    private conversations the batch starts are recorded in the same transaction."""

    def __init__(self, database: Database, columns: str) -> None:
        self._db = database
        self._columns = columns
        names = [column.strip().removeprefix("m.") for column in columns.split(",")]
        self._stream_pos = names.index("stream_pos")  # where a returned row has it

    async def store(self, drafts: list[Draft]) -> list[Stored | Refused]:
        async def body(txn: Transaction) -> list[Stored | Refused]:
            originals = await self._originals(txn, drafts)
            pending = [n for n, draft in enumerate(drafts) if draft.key not in originals]
            refused = await _refusals(txn, {n: drafts[n] for n in pending})
            fresh = [drafts[n] for n in pending if n not in refused]
            rows = iter(await self._insert(txn, fresh))
            outcomes: list[Stored | Refused] = []
            for n, draft in enumerate(drafts):
                if draft.key in originals:
                    outcomes.append((originals[draft.key], False))
                else:
                    outcomes.append(refused.get(n) or (next(rows), True))
            return outcomes

        return await self._db.interaction("store_messages", body)

    async def _originals(
        self, txn: Transaction, drafts: list[Draft]
    ) -> dict[tuple[int, str] | None, tuple[Any, ...]]:
        """The stored messages of the drafts' client ids used within the last 24 hours: the
        ids in one statement, then the rare originals' rows."""
        keys = [draft.key for draft in drafts if draft.key is not None]
        if not keys:
            return {}
        given, args = txn.relation(keys, ("bigint", "text"))
        found = await txn.fetch(
            f"SELECT {original_id('k.column1', 'k.column2')} FROM {given} AS k",
            (drafts[0].now - CLIENT_ID_TTL, *args),
        )
        ids = [row[0] for row in found if row[0] is not None]
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = await txn.fetch(
            f"SELECT m.client_id, {self._columns} FROM messages m WHERE m.id IN ({marks})", ids
        )
        return {(row[2], row[0]): row[1:] for row in rows}  # (sender_id, client_id)

    async def _insert(self, txn: Transaction, drafts: list[Draft]) -> list[tuple[Any, ...]]:
        """One multi-row INSERT, the drafts taking the next positions in order."""
        if not drafts:
            return []
        first = await advance(txn, len(drafts))
        given, args = txn.relation(
            [draft.values(first + n) for n, draft in enumerate(drafts)], TYPES
        )
        rows = await txn.fetch(
            f"INSERT INTO messages ({', '.join(COLUMNS)}) SELECT * FROM {given} AS g"
            f" RETURNING {self._columns.replace('m.', '')}",
            args,
        )
        await _record_pairs(txn, drafts)
        by_position = {row[self._stream_pos]: row for row in rows}
        return [by_position[first + n] for n in range(len(drafts))]


async def _record_pairs(txn: Transaction, drafts: list[Draft]) -> None:
    """Each private conversation the stored drafts start, recorded in the same transaction: a
    pair already recorded is ignored by its primary key and writes nothing."""
    pairs = {
        tuple(sorted((d.sender_id, d.recipient_id))) for d in drafts if d.recipient_id is not None
    }
    if not pairs:
        return
    given, args = txn.relation(sorted(pairs), ("bigint", "bigint"))
    await txn.run(
        "INSERT OR IGNORE INTO private_conversations (pair_low, pair_high)"
        f" SELECT column1, column2 FROM {given}",
        args,
    )


async def _refusals(txn: Transaction, drafts: dict[int, Draft]) -> dict[int, Refused]:
    """The refused drafts among `drafts`, by index: one statement for the private ones and the
    replies (a group message that replies to none has no rule to ask here)."""
    asked = [
        (n, draft.sender_id, draft.recipient_id, draft.group_id, draft.reply_to)
        for n, draft in drafts.items()
        if draft.recipient_id is not None or draft.reply_to is not None
    ]
    if not asked:
        return {}
    given, args = txn.relation(asked, ("bigint",) * 5)
    rule = draft_refusal("p.column2", "p.column3", "p.column4", "p.column5")
    rows = await txn.fetch(f"SELECT p.column1, {rule} FROM {given} AS p", args)
    return {row[0]: Refused(row[1]) for row in rows if row[1] is not None}
