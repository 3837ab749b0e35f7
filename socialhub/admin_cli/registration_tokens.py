"""registration-token create, list and delete: the tokens registration asks for with
`--registration token`, as an administrator makes them over REST."""

from __future__ import annotations

import argparse

from socialhub.admin_cli.wiring import add_options, opened
from socialhub.http.rest.bodies import create_registration_token
from socialhub.http.views import rfc3339
from socialhub.reactor import Reactor
from socialhub.storage.stores.registration_tokens import RegistrationToken


def registration_token_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a token and print its secret, once")
    create.add_argument("--uses", type=int, help="how many registrations (default: unlimited)")
    create.add_argument("--expires", metavar="RFC3339", help="when it expires (default: never)")
    create.set_defaults(action_run=_create)
    listed = actions.add_parser("list", help="every token, without its secret")
    listed.set_defaults(action_run=_list)
    delete = actions.add_parser("delete", help="delete a token: it registers no one more")
    delete.add_argument("id", type=int)
    delete.set_defaults(action_run=_delete)
    for action in (create, listed, delete):
        add_options(action, suppress=True)


async def registration_token(reactor: Reactor, args: argparse.Namespace) -> None:
    await args.action_run(reactor, args)


async def _create(reactor: Reactor, args: argparse.Namespace) -> None:
    """Checked as POST /api/admin/registration-tokens checks its body; the secret is printed
    alone on the last line, for a script to take."""
    body = {"uses_allowed": args.uses, "expires_at": args.expires}
    command = create_registration_token(body)
    async with opened(reactor, args) as server:
        made = await server.handlers.registration.make_token(command, None)
    print(f"created registration token {made.stored.id}: {_limits(made.stored)}")
    print(made.token)


async def _list(reactor: Reactor, args: argparse.Namespace) -> None:
    async with opened(reactor, args) as server:
        tokens = await server.handlers.registration.tokens()
    for token in tokens:
        creator = "the operator" if token.created_by is None else f"user {token.created_by}"
        print(f"{token.id}: {_limits(token)}; created {rfc3339(token.created_at)} by {creator}")
    if not tokens:
        print("no registration tokens")


async def _delete(reactor: Reactor, args: argparse.Namespace) -> None:
    async with opened(reactor, args) as server:
        await server.handlers.registration.remove_token(args.id, None)
    print(f"registration token {args.id} is deleted")


def _limits(token: RegistrationToken) -> str:
    """How much the token is used and until when, as the REST API shows it."""
    allowed = "unlimited" if token.uses_allowed is None else token.uses_allowed
    expires = "never" if token.expires_at is None else rfc3339(token.expires_at)
    return f"used {token.uses} of {allowed}, expires {expires}"
