"""The two database engines behind the Database interface, chosen by the --database URL."""

from __future__ import annotations

from socialhub.reactor import Reactor
from socialhub.storage.database import Database


def open_database(reactor: Reactor, url: str) -> Database:
    """The Database for a `sqlite:PATH` or `postgresql://...` URL (not yet connected)."""
    if url.startswith("sqlite:"):
        from socialhub.storage.engines.sqlite import SqliteDatabase

        return SqliteDatabase(reactor, url.removeprefix("sqlite:"))
    from socialhub.storage.engines.postgres import PostgresDatabase

    return PostgresDatabase(reactor, url)
