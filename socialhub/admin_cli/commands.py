"""The table of commands: each is a function of the reactor and the parsed arguments, and
the function that adds its arguments. A command is one entry here."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from socialhub.admin_cli import accounts
from socialhub.admin_cli.copy_database import copy_database, copy_database_arguments
from socialhub.reactor import Reactor


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Reactor, argparse.Namespace], Awaitable[None]]


COMMANDS = [
    Command(
        "create-user",
        "create an account, checked and hashed as registration does",
        accounts.create_user_arguments,
        accounts.create_user,
    ),
    Command(
        "grant-admin",
        accounts.ADMIN_HELP.format("give the user"),
        accounts.username_argument,
        accounts.grant_admin,
    ),
    Command(
        "revoke-admin",
        accounts.ADMIN_HELP.format("take from the user"),
        accounts.username_argument,
        accounts.revoke_admin,
    ),
    Command(
        "copy-database",
        "copy a SQLite database whole into an empty PostgreSQL database",
        copy_database_arguments,
        copy_database,
    ),
]
