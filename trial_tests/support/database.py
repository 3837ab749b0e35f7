"""Databases reached below the API: rows written straight into a transaction, SQL run on
PostgreSQL's own connection, and PostgreSQL databases of a test's own to cut off."""

from __future__ import annotations

import secrets
from typing import Any

import psycopg2
from twisted.trial.unittest import TestCase

from socialhub.storage.database import Transaction
from trial_tests.support.harness import PG_ADMIN_DSN

# Waiting for the pool to reconnect: at most RETRIES tries, RETRY_DELAY seconds apart.
RETRIES = 150
RETRY_DELAY = 0.2


async def insert_user(txn: Transaction, name: str) -> int:
    """A user row written directly (no password to hash), on either engine; its id."""
    row = await txn.fetchone(
        "INSERT INTO users (username, username_key, email, email_key, password_hash,"
        " display_name, created_at) VALUES (?, ?, ?, ?, 'x', ?, 0) RETURNING id",
        (name, name, f"{name}@example.org", f"{name}@example.org", name),
    )
    assert row is not None
    return int(row[0])


def admin_sql(statement: str, dsn: str = PG_ADMIN_DSN) -> list[tuple[Any, ...]]:
    """One statement on a separate, synchronous psycopg2 connection (autocommit)."""
    connection = psycopg2.connect(dsn)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def database_of_its_own(testcase: TestCase) -> tuple[str, str]:
    """A new PostgreSQL database (URL, name) whose connections can be refused without
    touching other tests; dropped when the test ends."""
    name = "socialhub_test_down_" + secrets.token_hex(4)
    admin_sql(f'CREATE DATABASE "{name}"')
    testcase.addCleanup(admin_sql, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    testcase.addCleanup(set_allowed, name, True)
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + name, name


def set_allowed(name: str, allowed: bool) -> None:
    """Let PostgreSQL accept or refuse (even a superuser's) connections to database `name`."""
    admin_sql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')


def cut_off(name: str) -> None:
    """Refuse new connections to database `name` and terminate the open ones."""
    set_allowed(name, False)
    admin_sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )
