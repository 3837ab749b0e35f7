"""The SQL of a user's conversations: the list, its unread counts and the read markers.

A private conversation is a row of `private_conversations` (written by its first message); a
group conversation is an accepted membership. How far a user has read one is their *effective
marker*: their newest own message in it when that is above the stored `read_markers` row (one's
own messages are never unread, and sending writes no marker), else the stored row. Every answer
here (`read_up_to`, the unread counts, the forward-only rule) uses that one SQL expression.

Its cost follows the unread messages, never the history: the newest own message is found by
walking the conversation's index (messages_by_pair or messages_by_group, which end in `id`)
backwards from its newest message down to the stored marker, stopping at the first own one, so
every row it passes is another user's message above the marker, one that is unread (`_Walk`
says how both engines are kept on that index). The counts are a second statement, from each
conversation's effective marker up to its last message (`counts_statement` says why apart), and
only for the conversations whose last message is above their marker. A list does this for the
page it returns; the unread total, for every conversation of the viewer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

from socialhub.storage.database import Database, Row, Statement, Transaction, qualify
from socialhub.storage.stores.messages import MESSAGE_COLUMNS, Message
from socialhub.storage.stores.users import USER_COLUMNS, USER_WIDTH, User

_MESSAGE_WIDTH = len(MESSAGE_COLUMNS.split(","))


@dataclass(frozen=True)
class _Walk:
    """The messages `m` of one conversation, newest first along its index: messages_by_pair
    (pair_low, pair_high, id) or messages_by_group (group_id, id).

    Asked `pair_low = x ... ORDER BY m.id DESC LIMIT 1`, PostgreSQL may walk the primary key
    backwards through every conversation's messages instead, expecting a match soon. Matched
    with `IN (x, x)`, which both engines search as one equality but PostgreSQL does not take
    for a constant, the first column leaves the order to this index alone, and the walk cannot
    leave the conversation. SQLite searches the same index either way."""

    equal: str  # the condition picking the conversation
    order: str


def _private_walk(c: str) -> _Walk:
    """The private conversation of row `c`."""
    return _Walk(
        f"m.pair_low IN ({c}.pair_low, {c}.pair_low) AND m.pair_high = {c}.pair_high",
        "m.pair_low DESC, m.id DESC",
    )


def _group_walk(c: str) -> _Walk:
    """The group conversation of row `c`."""
    return _Walk(f"m.group_id IN ({c}.group_id, {c}.group_id)", "m.group_id DESC, m.id DESC")


def _walk(c: str, select: Callable[[_Walk], str]) -> str:
    """`select(walk)` for the conversation of row `c`, private or group."""
    private, group = select(_private_walk(c)), select(_group_walk(c))
    return f"CASE WHEN {c}.group_id IS NULL THEN ({private}) ELSE ({group}) END"


def _newest(walk: _Walk, where: str = "TRUE") -> str:
    """The id of the newest message of a walk that meets `where`."""
    return (
        f"SELECT m.id FROM messages m WHERE {walk.equal} AND {where} ORDER BY {walk.order} LIMIT 1"
    )


# The conversations a user is in, one row each: (viewer, pair_low, pair_high, peer_id, group_id,
# last_id, joined_at); private ones have pair and peer, groups group_id and joined_at. The
# viewer's id is its five placeholders. `last_id` is one probe of the conversation's index.
_CONVERSATIONS = (
    "SELECT CAST(? AS BIGINT) AS viewer, pc.pair_low, pc.pair_high,"
    " CASE WHEN pc.pair_low = ? THEN pc.pair_high ELSE pc.pair_low END AS peer_id,"
    f" CAST(NULL AS BIGINT) AS group_id, ({_newest(_private_walk('pc'))}) AS last_id,"
    " CAST(NULL AS BIGINT) AS joined_at"
    " FROM private_conversations pc WHERE pc.pair_low = ? OR pc.pair_high = ?"
    " UNION ALL"
    f" SELECT gm.user_id, NULL, NULL, NULL, gm.group_id, ({_newest(_group_walk('gm'))}),"
    " gm.joined_at FROM group_members gm WHERE gm.user_id = ? AND gm.is_accepted"
)


def _order(c: str) -> str:
    """Conversations with messages by their last message, newest first; then groups without
    messages, most recently joined first (a group's id breaks a tie within a second)."""
    return (
        f"ORDER BY ({c}.last_id IS NULL), {c}.last_id DESC, {c}.joined_at DESC, {c}.group_id DESC"
    )


def _stored_marker(c: str) -> str:
    """The viewer's stored marker of row `c`'s conversation, NULL when none."""
    mine = f"SELECT r.up_to FROM read_markers r WHERE r.user_id = {c}.viewer"
    private = f"{mine} AND r.peer_id = {c}.peer_id"
    group = f"{mine} AND r.group_id = {c}.group_id"
    return f"CASE WHEN {c}.group_id IS NULL THEN ({private}) ELSE ({group}) END"


def _effective_marker(c: str) -> str:
    """The effective marker of row `c`, which has `viewer` and `stored`: the viewer's newest
    own message above the stored marker, else the stored marker (NULL when neither). The walk
    down to it passes only others' messages above the marker: unread ones."""
    own = _walk(
        c,
        lambda walk: _newest(walk, f"m.id > COALESCE({c}.stored, 0) AND m.sender_id = {c}.viewer"),
    )
    return f"COALESCE({own}, {c}.stored)"


def _marked(conversations: str) -> str:
    """WITH clauses ending in `marked`: the rows of `conversations` (a SELECT of
    _CONVERSATIONS's columns) with `stored` and `up_to`, the effective marker. Each step is
    materialized so that its subqueries run once per row, not once per reference."""
    return (
        f"WITH listed AS MATERIALIZED ({conversations}),"
        f" stored AS MATERIALIZED (SELECT l.*, {_stored_marker('l')} AS stored FROM listed l),"
        f" marked AS MATERIALIZED (SELECT s.*, {_effective_marker('s')} AS up_to FROM stored s)"
    )


# A page: each conversation's (pair_low, pair_high, group_id, group name, up_to, last_id), then
# the user's and the last message's columns (NULLs when there is none).
_PAGE = (
    _marked(f"SELECT c.* FROM ({_CONVERSATIONS}) c {_order('c')} LIMIT ? OFFSET ?")
    + " SELECT k.pair_low, k.pair_high, k.group_id, g.name, k.up_to, k.last_id,"
    f" {qualify(USER_COLUMNS, 'u')}, {MESSAGE_COLUMNS}"
    " FROM marked k LEFT JOIN users u ON u.id = k.peer_id LEFT JOIN groups g ON g.id = k.group_id"
    " LEFT JOIN messages m ON m.id = k.last_id"
    f" {_order('k')}"
)
# Every conversation of the viewer that may hold unread messages, as a Span's fields.
_SPANS = _marked(f"SELECT c.* FROM ({_CONVERSATIONS}) c") + (
    " SELECT k.pair_low, k.pair_high, k.group_id, COALESCE(k.up_to, 0), k.last_id"
    " FROM marked k WHERE k.last_id > COALESCE(k.up_to, 0)"
)
_COUNT = (
    "SELECT CAST(? AS BIGINT), count(*) FROM messages m WHERE {conversation}"
    " AND m.id > ? AND m.id <= ? AND m.sender_id <> ? AND m.deleted_at IS NULL"
)
_COUNT_PRIVATE = _COUNT.format(conversation="m.pair_low = ? AND m.pair_high = ?")
_COUNT_GROUP = _COUNT.format(conversation="m.group_id = ?")


# One conversation given by placeholders (viewer, pair_low, pair_high, peer_id, group_id) and a
# message id: the conversation's effective marker, and whether the message is one of its own.
_ONE = (
    "SELECT CAST(? AS BIGINT) AS viewer, CAST(? AS BIGINT) AS pair_low,"
    " CAST(? AS BIGINT) AS pair_high, CAST(? AS BIGINT) AS peer_id,"
    " CAST(? AS BIGINT) AS group_id, CAST(? AS BIGINT) AS message"
)
_MARKER_AND_MESSAGE = _marked(_ONE) + (
    " SELECT k.up_to, "
    + _walk(
        "k", lambda walk: f"SELECT count(*) FROM messages m WHERE {walk.equal} AND m.id = k.message"
    )
    + " FROM marked k"
)
# A marker moves forward only, also against a concurrent move that committed first.
_MOVE = (
    "INSERT INTO read_markers (user_id, {column}, up_to) VALUES (?, ?, ?)"
    " ON CONFLICT (user_id, {column}) WHERE {column} IS NOT NULL"
    " DO UPDATE SET up_to = excluded.up_to WHERE read_markers.up_to < excluded.up_to"
    " RETURNING up_to"
)
_MOVE_PRIVATE = _MOVE.format(column="peer_id")
_MOVE_GROUP = _MOVE.format(column="group_id")
# A member's marker at the group's newest message (none while it has none): (user, group).
_JOINED = (
    "INSERT INTO read_markers (user_id, group_id, up_to)"
    " SELECT n.user_id, n.group_id, n.newest"
    f" FROM (SELECT j.*, ({_newest(_group_walk('j'))}) AS newest"
    "  FROM (SELECT CAST(? AS BIGINT) AS user_id, CAST(? AS BIGINT) AS group_id) j) n"
    " WHERE n.newest IS NOT NULL"
    " ON CONFLICT (user_id, group_id) WHERE group_id IS NOT NULL"
    " DO UPDATE SET up_to = excluded.up_to WHERE read_markers.up_to < excluded.up_to"
)


async def mark_joined(txn: Transaction, group_id: int, user_id: int, now: int) -> None:
    """The user just became an accepted member (in the caller's transaction): they joined now,
    and their marker goes to the group's newest message, so its backlog is not unread."""
    await txn.run(
        "UPDATE group_members SET joined_at = ? WHERE group_id = ? AND user_id = ?",
        (now, group_id, user_id),
    )
    await txn.run(_JOINED, (user_id, group_id))


def page_statement(viewer_id: int, limit: int, offset: int) -> Statement:
    """The SELECT of a page of the viewer's conversations (`_PAGE`)."""
    return _PAGE, (*(viewer_id,) * 5, limit, offset)


def spans_statement(viewer_id: int) -> Statement:
    """The SELECT of the Spans of every conversation of the viewer that may hold unread
    messages."""
    return _SPANS, (viewer_id,) * 5


@dataclass(frozen=True)
class Span:
    """Where a conversation's unread messages may be: above `after` (the effective marker, 0
    for none) and up to `through` (its last message)."""

    pair_low: int | None
    pair_high: int | None
    group_id: int | None
    after: int
    through: int


def counts_statement(viewer_id: int, spans: list[Span]) -> Statement:
    """The SELECT of how many messages of others, not deleted, each span holds: rows (its index
    in `spans`, the count). A statement of its own, with the spans' ids written into it:
    PostgreSQL then plans each count knowing how many messages lie between the two ids, and
    reads the conversation's index when the range holds many messages of other conversations
    too. (In the statement that found the spans, it would plan for ids it cannot see, guessing
    a third of the table, and read the whole range or compile the plan.)"""
    parts: list[str] = []
    args: list[object] = []
    for number, span in enumerate(spans):
        if span.group_id is None:
            parts.append(_COUNT_PRIVATE)
            args += [number, span.pair_low, span.pair_high]
        else:
            parts.append(_COUNT_GROUP)
            args += [number, span.group_id]
        args += [span.after, span.through, viewer_id]
    return " UNION ALL ".join(parts), args


@dataclass(frozen=True)
class Conversation:
    """One conversation as its viewer lists it: with a user (`peer`) or a group."""

    peer: User | None
    group_id: int | None
    group_name: str | None
    last_message: Message | None
    unread_count: int
    read_up_to: int | None


def _listed(row: Row) -> tuple[Conversation, Span | None]:
    """A row of `_PAGE` as a conversation, its unread count still 0, and its Span when it may
    hold unread messages."""
    pair_low, pair_high, group_id, group_name, up_to, last_id = row[:6]
    user, message = row[6 : 6 + USER_WIDTH], row[6 + USER_WIDTH :]
    if len(message) != _MESSAGE_WIDTH:
        raise ValueError(f"a conversation row has {len(row)} columns")
    conversation = Conversation(
        peer=None if user[0] is None else User.from_row(user),
        group_id=group_id,
        group_name=group_name,
        last_message=None if message[0] is None else Message.from_row(message),
        unread_count=0,
        read_up_to=up_to,
    )
    after = up_to or 0
    span = None
    if last_id is not None and last_id > after:
        span = Span(pair_low, pair_high, group_id, after, last_id)
    return conversation, span


@dataclass(frozen=True)
class Peer:
    """A private conversation: with this user."""

    user_id: int


@dataclass(frozen=True)
class InGroup:
    """A group's conversation."""

    group_id: int


Target = Peer | InGroup


class Moved(Enum):
    """What asking to move a marker did."""

    NOT_IN_CONVERSATION = "not_in_conversation"  # no such message in that conversation
    UNCHANGED = "unchanged"  # at or below the effective marker
    MOVED = "moved"


class ConversationsStore:
    """A user's conversations and how far they have read each."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def page(self, viewer_id: int, limit: int, offset: int) -> list[Conversation]:
        """The viewer's conversations in the contract's order, counted for this page only."""
        rows = await self._db.read("conversations", *page_statement(viewer_id, limit, offset))
        listed = [_listed(row) for row in rows]
        counts = iter(await self._counts(viewer_id, [s for _, s in listed if s is not None]))
        return [
            conversation if span is None else replace(conversation, unread_count=next(counts))
            for conversation, span in listed
        ]

    async def unread(self, viewer_id: int) -> tuple[int, int]:
        """(unread messages, conversations with any) over all the viewer's conversations."""
        rows = await self._db.read("unread_spans", *spans_statement(viewer_id))
        counts = await self._counts(viewer_id, [Span(*row) for row in rows])
        return sum(counts), sum(1 for count in counts if count)

    async def _counts(self, viewer_id: int, spans: list[Span]) -> list[int]:
        """Each span's unread count, in order: one more read, when there are any."""
        if not spans:
            return []
        rows = await self._db.read("unread_counts", *counts_statement(viewer_id, spans))
        by_number = {number: count for number, count in rows}
        return [int(by_number[number]) for number in range(len(spans))]

    async def move_marker(self, viewer_id: int, target: Target, up_to: int) -> Moved:
        """Move the viewer's marker of the conversation to message `up_to`, forward only."""
        one: tuple[int | None, ...]
        if isinstance(target, Peer):
            low, high = sorted((viewer_id, target.user_id))
            one = (viewer_id, low, high, target.user_id, None)
            move, other = _MOVE_PRIVATE, target.user_id
        else:
            one = (viewer_id, None, None, None, target.group_id)
            move, other = _MOVE_GROUP, target.group_id

        async def body(txn: Transaction) -> Moved:
            found = await txn.fetchone(_MARKER_AND_MESSAGE, (*one, up_to))
            assert found is not None
            effective, in_conversation = found
            if not in_conversation:
                return Moved.NOT_IN_CONVERSATION
            if effective is not None and up_to <= effective:
                return Moved.UNCHANGED
            moved = await txn.fetch(move, (viewer_id, other, up_to))
            return Moved.MOVED if moved else Moved.UNCHANGED

        return await self._db.interaction("move_read_marker", body)
