"""The table of commands: each is a function of the reactor and the parsed arguments, and
the function that adds its arguments. A command is one entry here."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from socialhub.admin_cli import account_data, accounts
from socialhub.admin_cli.copy_database import copy_database, copy_database_arguments
from socialhub.admin_cli.registration_tokens import (
    registration_token,
    registration_token_arguments,
)
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
        "deactivate",
        "deactivate the account: it cannot log in, its sessions are revoked",
        accounts.username_argument,
        accounts.deactivate,
    ),
    Command(
        "reactivate",
        "let a deactivated account log in again",
        accounts.username_argument,
        accounts.reactivate,
    ),
    Command(
        "reset-password",
        "revoke the user's sessions and make a one-time reset link (mailed with --smtp)",
        accounts.username_argument,
        accounts.reset_password,
    ),
    Command(
        "registration-token",
        "create, list or delete the tokens registration asks for with --registration token",
        registration_token_arguments,
        registration_token,
    ),
    Command(
        "export",
        "write the user's data as GET /api/users/me/export gives it to them",
        account_data.export_arguments,
        account_data.export,
    ),
    Command(
        "delete-user",
        "delete the account and everything of theirs (needs --yes)",
        account_data.delete_user_arguments,
        account_data.delete_user,
    ),
    Command(
        "copy-database",
        "copy a SQLite database whole into an empty PostgreSQL database",
        copy_database_arguments,
        copy_database,
    ),
]
