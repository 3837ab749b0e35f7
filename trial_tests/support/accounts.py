"""What account tests share: the password everyone registers with, the body that registers a
user, accounts made without registering, and reading or changing their rows directly."""

from __future__ import annotations

from typing import Any

from socialhub.storage.database import Transaction
from socialhub.storage.stores.users import NewAccount
from trial_tests.support.harness import Client, RunningServer

PASSWORD = "correct horse"


def register_body(username: str, **fields: Any) -> dict[str, Any]:
    """A register body for `username` (email username@example.org) with `fields` replaced."""
    return {
        "username": username,
        "email": f"{username}@example.org",
        "password": PASSWORD,
        **fields,
    }


async def table_rows(running: RunningServer, table: str) -> list[tuple[Any, ...]]:
    """Every row of one table (a constant of the test's), all columns, in id order."""

    async def select(txn: Transaction) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = await txn.fetch(f"SELECT * FROM {table} ORDER BY id")
        return rows

    result: list[tuple[Any, ...]] = await running.server.database.interaction("test", select)
    return result


async def run_sql(running: RunningServer, sql: str, args: tuple[Any, ...] = ()) -> int:
    """Run one statement against the server's database; the rows it changed."""

    async def run(txn: Transaction) -> int:
        changed: int = await txn.run(sql, args)
        return changed

    result: int = await running.server.database.interaction("test", run)
    return result


async def seed_user(running: RunningServer, username: str, is_admin: bool = False) -> Client:
    """An account made in the store, as an operator's tool would (registration may be closed),
    and a client logged in as it."""
    server = running.server
    account = NewAccount(
        username,
        f"{username}@example.org",
        await server.hasher.hash(PASSWORD),
        username,
        is_admin=is_admin,
    )
    created = await server.stores.users.create(account, int(server.reactor.seconds()))
    assert created is not None
    client = running.client()
    response = await client.post("/api/auth/login", {"username": username, "password": PASSWORD})
    assert response.status == 200, response.raw
    return client
