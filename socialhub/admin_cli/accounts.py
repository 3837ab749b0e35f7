"""Commands on accounts: creating one, the administrator role, deactivation and a password
reset."""

from __future__ import annotations

import argparse
import getpass
import sys

from socialhub.admin_cli.errors import CommandFailed
from socialhub.admin_cli.wiring import opened
from socialhub.handlers.commands import CreateAccount
from socialhub.http.rest.bodies import register
from socialhub.reactor import Reactor
from socialhub.storage.stores.users import username_key

# The administrator role lasts: a server's --admin list grants it at start, never revokes it.
ADMIN_HELP = "{} the administrator role (recorded in the audit log, by the operator)"


def create_user_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("username")
    parser.add_argument("--email", required=True)
    parser.add_argument("--display-name", help="default: the username")
    parser.add_argument(
        "--password-file",
        help="read the password from this file (its first line); default: standard input,"
        " or a prompt on a terminal",
    )
    parser.add_argument("--admin", action="store_true", help="make the user an administrator")


async def create_user(reactor: Reactor, args: argparse.Namespace) -> None:
    """Create an account as registration does (the same checks, the same password hashing),
    without opening a session."""
    body = {"username": args.username, "email": args.email, "password": _password(args)}
    if args.display_name is not None:
        body["display_name"] = args.display_name
    account = register(body)
    async with opened(reactor, args) as server:
        listed = username_key(account.username) in server.config.admins  # as at registration
        new = CreateAccount(account, is_admin=args.admin or listed)
        user = await server.handlers.administration.create_account(None, new)
    role = " (administrator)" if user.is_admin else ""
    print(f"created user {user.username} (id {user.id}){role}")


def _password(args: argparse.Namespace) -> str:
    """The password from --password-file, a terminal's prompt (asked twice) or standard input:
    never from the command line, where other users of the machine can read it."""
    if args.password_file is not None:
        try:
            with open(args.password_file, encoding="utf-8") as file:
                return _first_line(file.read())
        except OSError as error:
            raise CommandFailed(f"cannot read the password file: {error.strerror}") from None
    if not sys.stdin.isatty():
        return _first_line(sys.stdin.read())
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise CommandFailed("the two passwords differ")
    return password


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def username_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("username")


async def grant_admin(reactor: Reactor, args: argparse.Namespace) -> None:
    await _set_admin(reactor, args, is_admin=True)


async def revoke_admin(reactor: Reactor, args: argparse.Namespace) -> None:
    await _set_admin(reactor, args, is_admin=False)


async def _set_admin(reactor: Reactor, args: argparse.Namespace, is_admin: bool) -> None:
    async with opened(reactor, args) as server:
        user = await server.handlers.accounts.named(args.username)
        await server.handlers.administration.set_admin(None, user.id, is_admin)
    role = "an administrator" if is_admin else "no longer an administrator"
    print(f"{user.username} is {role}")


async def deactivate(reactor: Reactor, args: argparse.Namespace) -> None:
    """Deactivate the account and revoke its sessions; a running server closes their sockets
    at its next check of sessions."""
    async with opened(reactor, args) as server:
        user = await server.handlers.accounts.named(args.username)
        await server.handlers.administration.deactivate(None, user.id)
    print(f"{user.username} is deactivated; their sessions are revoked")


async def reactivate(reactor: Reactor, args: argparse.Namespace) -> None:
    async with opened(reactor, args) as server:
        user = await server.handlers.accounts.named(args.username)
        await server.handlers.administration.reactivate(None, user.id)
    print(f"{user.username} is active")


async def reset_password(reactor: Reactor, args: argparse.Namespace) -> None:
    """Revoke the user's sessions and make a one-time reset link: mailed with --smtp (the
    command waits for the send), otherwise printed for the operator to pass on."""
    async with opened(reactor, args) as server:
        user = await server.handlers.accounts.named(args.username)
        link = await server.handlers.account_links.reset_by(None, user.id)
    print(f"{user.username}'s sessions are revoked")
    if link is None:
        print(f"a reset link was mailed to {user.email}")
    else:
        print(f"reset link (valid for an hour, once): {link}")
