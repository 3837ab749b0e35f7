"""What the servers under test know before a run: users, sessions, groups, stored history.

Users and sessions are written straight into socialhub's database once per run (hashing a
password costs ~200 ms of CPU by design, and logging in 10,000 users would measure that). The
peers read the same tokens and groups from a JSON file. History is bulk-inserted with one
INSERT ... SELECT over a generated series, each message with its stream position.

The layout is plain arithmetic, shared with the load generator (which must know whom to ask
for what): user i has token i; group 1 is users 1..fanout_members (user 1 sends); history
conversation c belongs to reader 1 + c % READERS, the first half private with user
PARTNER_BASE + c, the second half in group 2 + c - half; message g is in conversation
g % conversations, with id and stream position g + 1; in the typing storm users 2k - 1 and 2k
type to each other. For the presence workload, each of users
1..presence_users is followed by the PRESENCE_FOLLOWERS users after it (wrapping round), so
their audience is those and the PRESENCE_FOLLOWERS before it (`presence_audience`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import psycopg2.extras

ADMIN = "bench1"
FANOUT_GROUP = 1
READERS = 20
PARTNER_BASE = 1001
DEEP = 50  # a deep page asks for messages before the DEEP-th oldest of its conversation
PRESENCE_FOLLOWERS = 50


@dataclass(frozen=True)
class Layout:
    users: int
    fanout_members: int
    messages: int  # stored history; 0 when the history workload is not run
    conversations: int
    presence_users: int = 0  # users who follow each other; 0 when presence is not run

    @property
    def half(self) -> int:
        return self.conversations // 2


FULL = Layout(10_000, 1_000, messages=1_000_000, conversations=1_000, presence_users=5_000)
QUICK = Layout(2_000, 200, messages=20_000, conversations=100, presence_users=500)


def reader_of(layout: Layout, conversation: int) -> int:
    return 1 + conversation % READERS


def target_of(layout: Layout, conversation: int) -> tuple[str, int]:
    """("private", other user) or ("group", group id) of a history conversation."""
    if conversation < layout.half:
        return "private", PARTNER_BASE + conversation
    return "group", 2 + conversation - layout.half


def deep_before(layout: Layout, conversation: int) -> int:
    """A `before` id deep in a conversation: the page holds its DEEP oldest messages."""
    return conversation + DEEP * layout.conversations + 1


def typing_partner(user: int) -> int:
    """Whom a user types to in the typing storm: 1 and 2 to each other, 3 and 4, ..."""
    return user + 1 if user % 2 else user - 1


def presence_audience(layout: Layout, user: int) -> set[int]:
    """Whom user (1..presence_users) follows and who follows them."""
    count = layout.presence_users
    return {
        1 + (user - 1 + step * sign) % count
        for step in range(1, PRESENCE_FOLLOWERS + 1)
        for sign in (1, -1)
    }


def make_tokens(count: int) -> list[str]:
    """Token i - 1 opens a session of user i."""
    return [secrets.token_urlsafe(32) for _ in range(count)]


def token_hash(token: str) -> str:
    """As socialhub/auth/tokens.py stores it."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def write_peer_file(path: Path, layout: Layout, tokens: list[str]) -> None:
    """Tokens and groups for the peers (they keep them in memory)."""
    members = list(range(1, layout.fanout_members + 1))
    data = {"tokens": {t: i + 1 for i, t in enumerate(tokens)}, "groups": {"1": members}}
    path.write_text(json.dumps(data))


def _series(count: int, start: int, sqlite: bool) -> str:
    """A CTE `n(g)` of start .. start + count - 1 in either dialect."""
    if sqlite:
        return (
            f"WITH RECURSIVE n(g) AS (SELECT {start} UNION ALL SELECT g + 1 FROM n"
            f" WHERE g < {start + count - 1})"
        )
    return f"WITH n AS (SELECT g FROM generate_series({start}, {start + count - 1}) AS g)"


def _statements(layout: Layout, now: int, sqlite: bool) -> list[str]:
    """The bulk SQL of users, groups, memberships and history (integers only, no input)."""
    half = layout.half
    cat = "||"
    users = (
        _series(layout.users, 1, sqlite) + " INSERT INTO users (id, username, username_key,"
        " email, email_key, password_hash, display_name, display_name_key, created_at)"
        f" SELECT g, 'bench' {cat} g, 'bench' {cat} g, 'bench' {cat} g {cat} '@example.org',"
        f" 'bench' {cat} g {cat} '@example.org', 'not-a-hash', 'bench' {cat} g,"
        f" 'bench' {cat} g, {now} FROM n"
    )
    groups = (
        _series(half + 1, 1, sqlite) + " INSERT INTO groups (id, name, name_key, owner_id,"
        f" created_at) SELECT g, 'group' {cat} g, 'group' {cat} g,"
        f" CASE WHEN g = 1 THEN 1 ELSE 1 + (g - 2 + {half}) % {READERS} END, {now} FROM n"
    )
    fanout_members = (
        _series(layout.fanout_members, 1, sqlite) + " INSERT INTO group_members (group_id,"
        f" user_id, status, created_at) SELECT {FANOUT_GROUP}, g, 'member', {now} FROM n"
    )
    history_members = (
        _series(half, 2, sqlite) + " INSERT INTO group_members (group_id, user_id, status,"
        f" created_at) SELECT g, 1 + (g - 2 + {half}) % {READERS}, 'member', {now} FROM n"
    )
    statements = [users, groups, fanout_members, history_members]
    if layout.presence_users:
        statements.append(_presence_follows(layout, now, sqlite))
    if layout.messages:
        statements.append(_history(layout, now, sqlite))
        statements.append(f"UPDATE stream_position SET position = {layout.messages} WHERE id = 1")
    return statements


def _presence_follows(layout: Layout, now: int, sqlite: bool) -> str:
    """Row g: user 1 + g / PRESENCE_FOLLOWERS followed by the (1 + g % ...)-th user after."""
    per, count = PRESENCE_FOLLOWERS, layout.presence_users
    return (
        _series(count * per, 0, sqlite)
        + " INSERT INTO follows (follower_id, followee_id, status, created_at)"
        f" SELECT 1 + (g / {per} + 1 + g % {per}) % {count}, 1 + g / {per}, 'accepted', {now}"
        " FROM n"
    )


def _history(layout: Layout, now: int, sqlite: bool) -> str:
    half, conv = layout.half, layout.conversations
    reader = f"(1 + c % {READERS})"
    partner = f"({PARTNER_BASE} + c)"
    return (
        _series(layout.messages, 0, sqlite)
        + f", s AS (SELECT g, g % {conv} AS c, g / {conv} AS k FROM n)"
        " INSERT INTO messages (id, sender_id, recipient_id, group_id, pair_low, pair_high,"
        " content, created_at, stream_pos)"
        f" SELECT g + 1,"
        f" CASE WHEN c < {half} AND k % 2 = 1 THEN {partner} ELSE {reader} END,"
        f" CASE WHEN c < {half} THEN (CASE WHEN k % 2 = 1 THEN {reader} ELSE {partner} END) END,"
        f" CASE WHEN c >= {half} THEN 2 + c - {half} END,"
        f" CASE WHEN c < {half} THEN {reader} END,"
        f" CASE WHEN c < {half} THEN {partner} END,"
        f" 'stored message number ' || g, {now - layout.messages} + g, g + 1 FROM s"
    )


def _sessions(tokens: list[str], now: int) -> list[tuple[str, int, int, int]]:
    return [(token_hash(t), i + 1, now, now) for i, t in enumerate(tokens)]


def fill_postgres(dsn: str, layout: Layout, tokens: list[str]) -> None:
    """Write the fixtures into a freshly migrated PostgreSQL database."""
    now = int(time.time())
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        for statement in _statements(layout, now, sqlite=False):
            cursor.execute(statement)
        psycopg2.extras.execute_values(
            cursor,
            "INSERT INTO sessions (token_hash, user_id, created_at, last_used_at) VALUES %s",
            _sessions(tokens, now),
            page_size=2000,
        )
        for table in ("users", "groups", "messages"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )
    with psycopg2.connect(dsn) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    connection.close()


def fill_sqlite(path: Path, layout: Layout, tokens: list[str]) -> None:
    """Write the fixtures into a freshly migrated SQLite database."""
    now = int(time.time())
    connection = sqlite3.connect(path)
    try:
        with connection:
            for statement in _statements(layout, now, sqlite=True):
                connection.execute(statement)
            connection.executemany(
                "INSERT INTO sessions (token_hash, user_id, created_at, last_used_at)"
                " VALUES (?, ?, ?, ?)",
                _sessions(tokens, now),
            )
        connection.execute("ANALYZE")
    finally:
        connection.close()
