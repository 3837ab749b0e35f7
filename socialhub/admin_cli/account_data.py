"""Commands on an account's data: its export, and the account's deletion."""

from __future__ import annotations

import argparse
import os
import sys

import orjson

from socialhub.admin_cli.errors import CommandFailed
from socialhub.admin_cli.wiring import opened
from socialhub.http.views import export_document
from socialhub.reactor import Reactor


def export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("username")
    parser.add_argument(
        "--output", metavar="FILE", help="write to FILE (made readable by its owner alone)"
    )


async def export(reactor: Reactor, args: argparse.Namespace) -> None:
    """The JSON document GET /api/users/me/export gives the user, on standard output or in
    a new file: the user's personal data, so only its owner may read the file."""
    async with opened(reactor, args) as server:
        user = await server.handlers.accounts.named(args.username)
        sections = await server.handlers.account_export.export_of(user.id)
    document = orjson.dumps(export_document(sections))
    if args.output is None:
        sys.stdout.buffer.write(document + b"\n")
        return
    try:
        descriptor = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise CommandFailed(f"cannot create {args.output}: {error.strerror}") from None
    with os.fdopen(descriptor, "wb") as file:
        file.write(document)
    print(f"{user.username}'s data written to {args.output}")


def delete_user_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("username")
    parser.add_argument("--yes", action="store_true", help="confirm: nothing can be undone")


async def delete_user(reactor: Reactor, args: argparse.Namespace) -> None:
    """Delete the account and everything of theirs, as an administrator's deletion does; a
    running server closes their sockets at its next check of sessions."""
    if not args.yes:
        raise CommandFailed(f"deleting {args.username} cannot be undone: add --yes to confirm")
    async with opened(reactor, args) as server:
        user = await server.handlers.accounts.named(args.username)
        await server.handlers.account_deletion.delete_account(user.id, actor=None)
    print(f"{user.username} (id {user.id}) and their data are deleted")
