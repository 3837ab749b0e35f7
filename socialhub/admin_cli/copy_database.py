"""copy-database: a SQLite database copied whole into an empty PostgreSQL database."""

from __future__ import annotations

import argparse

from socialhub.admin_cli.errors import CommandFailed
from socialhub.admin_cli.wiring import existing_database
from socialhub.reactor import Reactor
from socialhub.storage.copy import copy_database as copy_rows
from socialhub.storage.engines.postgres import PostgresDatabase
from socialhub.storage.engines.sqlite import SqliteDatabase


def copy_database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="source", required=True, metavar="sqlite:PATH")
    parser.add_argument("--to", dest="target", required=True, metavar="postgresql://...")


async def copy_database(reactor: Reactor, args: argparse.Namespace) -> None:
    """Copy every table, then print each table's row count."""
    if not args.source.startswith("sqlite:"):
        raise CommandFailed("--from must be a sqlite:PATH database")
    if not args.target.startswith(("postgresql://", "postgres://")):
        raise CommandFailed("--to must be a postgresql:// database")
    source = SqliteDatabase(reactor, existing_database(args.source).removeprefix("sqlite:"))
    target = PostgresDatabase(reactor, args.target, connections=1)
    await source.open()
    try:
        await target.open()
        try:
            counts = await copy_rows(source, target)
        finally:
            await target.close()
    finally:
        await source.close()
    width = max(len(table) for table, _ in counts)
    for table, rows in counts:
        print(f"{table:<{width}} {rows:>9}")
