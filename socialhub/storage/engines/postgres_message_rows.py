"""PostgreSQL's way of storing a batch of messages (see storage/stores/message_rows.py): one
round trip, in which the rule refuses, the originals are found and the rest inserted."""

from __future__ import annotations

import orjson

from socialhub.storage.database import Database, Prepared
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


class OneStatement:
    """One statement locks the counter; the next, a WITH statement whose snapshot is taken
    once the lock is held, does the rest; both are sent together, and commit when the second
    ends. The counter is locked and released within one round trip, where it stayed locked
    across three (every other batch waiting on it), and the process pays for one round trip
    instead of four. The rule is asked in that snapshot too: a block committed before it was
    taken, by any process, refuses the batch's messages it concerns."""

    _LOCK = "SELECT 1 FROM stream_position WHERE id = 1 FOR UPDATE"

    def __init__(self, database: Database, columns: str) -> None:
        self._db = database
        self._statement = _one_statement(columns)

    async def store(self, drafts: list[Draft]) -> list[Stored | Refused]:
        batch = [draft.values(None) for draft in drafts]  # arrays: a fifth of objects' cost
        cutoff = drafts[0].now - CLIENT_ID_TTL
        rows = await self._db.at_once(
            "store_messages",
            [(self._LOCK, ()), (self._statement, (orjson.dumps(batch).decode(), cutoff))],
        )
        # A new row: (its rank among the drafts stored, from 1; True; NULL; the columns...);
        # an original: (its draft's number, from 1; False; NULL; the message's columns...);
        # a refusal: (its draft's number; False; the reason; NULLs).
        others: dict[int, Stored | Refused] = {
            row[0]: Refused(row[2]) if row[2] is not None else (row[3:], False)
            for row in rows
            if not row[1]
        }
        fresh = iter((row[3:], True) for row in sorted(row for row in rows if row[1]))
        return [others.get(number) or next(fresh) for number in range(1, len(drafts) + 1)]


def _one_statement(columns: str) -> Prepared:
    """The WITH statement: `vetted` is each draft with the rules' refusal (NULL if none),
    `checked` adds the id of a keyed draft's stored message of the last 24 hours (a resend gets
    its original whatever the rule says now: it was stored, and delivered, when it allowed it),
    `fresh` the drafts neither stored before nor refused, numbered; `counter` hands out their
    positions and `inserted` stores them. `vetted` is materialized so that the rule is asked
    once per draft (inlined, it would be asked again by `checked`'s CASE). No CTE is joined
    to another: the planner, expecting one row of each, joined them pair by pair (n² tests,
    1.6 ms of 3 for a batch of 134); a new row comes back with its rank, not joined back to
    its draft, and an original or a refusal with its draft's number. `pairs` records each
    private conversation the batch starts (PostgreSQL runs a data-modifying CTE whether or not
    its output is read); a pair already recorded costs one index probe and writes nothing."""
    names = ", ".join(COLUMNS)
    given = ", ".join(
        f"(e->>{n})::{kind} AS {name}"
        for n, (name, kind) in enumerate(zip(COLUMNS, TYPES, strict=True))
        if name != "stream_pos"
    )
    values = ", ".join("c.base + f.n" if name == "stream_pos" else f"f.{name}" for name in COLUMNS)
    blanks = ", ".join("NULL" for _ in columns.split(","))  # a refusal has no message
    return Prepared(
        f"WITH given AS (SELECT {given}, number"
        "  FROM json_array_elements(?) WITH ORDINALITY AS g(e, number)),"
        " vetted AS MATERIALIZED (SELECT g.*,"
        f"  {draft_refusal('g.sender_id', 'g.recipient_id', 'g.group_id', 'g.reply_to')}"
        "  AS refusal FROM given g),"
        " checked AS (SELECT v.*, CASE WHEN v.client_id IS NOT NULL"
        f"  THEN {original_id('v.sender_id', 'v.client_id')} END AS original FROM vetted v),"
        " fresh AS (SELECT k.*, row_number() OVER (ORDER BY k.number) AS n FROM checked k"
        "  WHERE k.refusal IS NULL AND k.original IS NULL),"
        " counter AS (UPDATE stream_position SET position = position + (SELECT count(*) FROM fresh)"
        "  WHERE id = 1 RETURNING position - (SELECT count(*) FROM fresh) AS base),"
        f" inserted AS (INSERT INTO messages ({names}) SELECT {values}"
        f"  FROM fresh f CROSS JOIN counter c ORDER BY f.n RETURNING {columns.replace('m.', '')}),"
        " pairs AS (INSERT INTO private_conversations (pair_low, pair_high)"
        "  SELECT DISTINCT f.pair_low, f.pair_high FROM fresh f WHERE f.pair_low IS NOT NULL"
        "  ON CONFLICT DO NOTHING)"
        " SELECT i.stream_pos - c.base, TRUE, NULL, i.* FROM inserted i CROSS JOIN counter c"
        f" UNION ALL SELECT k.number, FALSE, NULL, {columns}"
        "  FROM checked k JOIN messages m ON m.id = k.original"
        f" UNION ALL SELECT k.number, FALSE, k.refusal, {blanks}"
        "  FROM checked k WHERE k.refusal IS NOT NULL AND k.original IS NULL"
    )
