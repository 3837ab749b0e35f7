"""Hand-run timing of GET /api/conversations: a list of 20 conversations, one of which holds
10 messages, then 1,000,000. The other 19 hold 10 each; every conversation has 5 unread
messages. The reader has a stored marker in 19 of them; in the large one only their own
message, 6th from the end, places it (the walk down to it must not read the history).

    python -m bench.conversations [--postgres ADMIN_URL] [--requests N]

It creates a fresh PostgreSQL database per size (dropped at the end), starts socialhub on it,
fills it with generate_series, and prints the median and p90 of N sequential requests."""

from __future__ import annotations

import argparse
import http.client
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

from bench import fixtures, procs, servers
from bench.environment import _admin, _with_database

SIZES = (10, 1_000_000)
PEERS = 10  # private conversations with users 2..11; groups 1..10 with users 12..21
SMALL = 10
UNREAD = 5
WARMUP = 20


def _fill(url: str, big: int, token: str) -> None:
    """Users 1-21, user 1's session, 10 private conversations and 10 groups of user 1's. The
    private one with user 2 holds `big` messages, the others SMALL each."""
    now = int(time.time())
    statements = [
        "INSERT INTO users (id, username, username_key, email, email_key, password_hash,"
        " display_name, display_name_key, created_at) SELECT g, 'u' || g, 'u' || g,"
        f" 'u' || g || '@x.org', 'u' || g || '@x.org', 'x', 'u' || g, 'u' || g, {now}"
        " FROM generate_series(1, 21) g",
        "INSERT INTO groups (id, name, name_key, owner_id, created_at)"
        f" SELECT g, 'g' || g, 'g' || g, 1, {now} FROM generate_series(1, {PEERS}) g",
        "INSERT INTO group_members (group_id, user_id, status, created_at, joined_at)"
        f" SELECT g, u, 'member', {now}, {now} FROM generate_series(1, {PEERS}) g,"
        f" (VALUES (1), (12)) AS m(u)",
        # The large conversation: from user 2, but the reader's own 6th from the end.
        "INSERT INTO messages (sender_id, recipient_id, pair_low, pair_high, content, created_at)"
        f" SELECT CASE WHEN g = {big - UNREAD} THEN 1 ELSE 2 END,"
        f" CASE WHEN g = {big - UNREAD} THEN 2 ELSE 1 END, 1, 2, 'message ' || g, {now}"
        f" FROM generate_series(1, {big}) g",
        "INSERT INTO messages (sender_id, recipient_id, pair_low, pair_high, content, created_at)"
        f" SELECT p, 1, 1, p, 'message ' || g, {now}"
        f" FROM generate_series(3, {PEERS + 1}) p, generate_series(1, {SMALL}) g",
        "INSERT INTO messages (sender_id, group_id, content, created_at)"
        f" SELECT 12, c, 'message ' || g, {now}"
        f" FROM generate_series(1, {PEERS}) c, generate_series(1, {SMALL}) g",
        "INSERT INTO private_conversations (pair_low, pair_high)"
        " SELECT DISTINCT pair_low, pair_high FROM messages WHERE pair_low IS NOT NULL",
        "INSERT INTO read_markers (user_id, peer_id, up_to)"
        f" SELECT 1, pair_high, max(id) - {UNREAD} FROM messages"
        " WHERE pair_low = 1 AND pair_high > 2 GROUP BY pair_high",
        "INSERT INTO read_markers (user_id, group_id, up_to)"
        f" SELECT 1, group_id, max(id) - {UNREAD} FROM messages"
        " WHERE group_id IS NOT NULL GROUP BY group_id",
        "INSERT INTO sessions (token_hash, user_id, created_at, last_used_at)"
        f" VALUES ('{fixtures.token_hash(token)}', 1, {now}, {now})",
    ]
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    connection.close()
    _admin(url, "VACUUM ANALYZE")


def _timings(port: int, token: str, requests: int) -> list[float]:
    """Seconds per GET /api/conversations, one after another on one connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Cookie": f"socialhub_session={token}"}
    seconds = []
    for n in range(WARMUP + requests):
        began = time.perf_counter()
        connection.request("GET", "/api/conversations?limit=20", headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200 or body.count(b'"kind"') != 2 * PEERS:
            raise RuntimeError(f"unexpected answer {response.status}: {body[:200]!r}")
        if n >= WARMUP:
            seconds.append(time.perf_counter() - began)
    connection.close()
    return seconds


def measure(admin: str, big: int, requests: int, workdir: Path) -> list[float]:
    """A fresh database with `big` messages in one conversation, a server on it, the timings."""
    name = f"socialhub_conversations_{secrets.token_hex(4)}"
    _admin(admin, f'CREATE DATABASE "{name}"')
    url = _with_database(admin, name)
    server = None
    try:
        port = procs.free_port()
        log = workdir / f"socialhub-{big}.log"
        server = procs.spawn(servers.socialhub_argv(url, port, workdir), log)
        procs.wait_for_line(server, log, "socialhub listening on")  # migrated
        token = fixtures.make_tokens(1)[0]
        _fill(url, big, token)
        return _timings(port, token, requests)
    finally:
        if server is not None:
            procs.stop(server)
        _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--requests", type=int, default=500)
    options = parser.parse_args()
    procs.install_cleanup()
    with tempfile.TemporaryDirectory(prefix="socialhub-conversations-") as workdir:
        for big in SIZES:
            seconds = measure(options.postgres, big, options.requests, Path(workdir))
            median = statistics.median(seconds) * 1000
            p90 = statistics.quantiles(seconds, n=10)[-1] * 1000
            print(f"{big:>9,} messages in one of 20: median {median:.2f} ms, p90 {p90:.2f} ms")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
