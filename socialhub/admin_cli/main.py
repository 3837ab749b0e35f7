"""Argument parsing and exit statuses: 0 done, 1 failed (one line on standard error), 2 a
usage error (argparse's message)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any, NoReturn

from twisted.internet.task import react
from twisted.logger import globalLogBeginner

from socialhub.admin_cli.commands import COMMANDS
from socialhub.admin_cli.errors import CommandFailed
from socialhub.admin_cli.wiring import add_options
from socialhub.config import ConfigError
from socialhub.errors import SocialHubError
from socialhub.reactor import as_reactor
from socialhub.storage.copy import CopyRefused
from socialhub.storage.database import DatabaseUnavailable

PROG = "socialhub-admin"
# What a command reports as its failure: the operator's mistake or the database's state.
_EXPECTED = (CommandFailed, SocialHubError, ConfigError, CopyRefused, DatabaseUnavailable)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog=PROG, description="socialhub's administration, run on the database directly"
    )
    main.add_argument("--version", action="version", version=f"%(prog)s {version('socialhub')}")
    add_options(main, suppress=False)
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        command.arguments(sub)
        add_options(sub, suppress=True)
        sub.set_defaults(run=command.run)
    return main


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: parse (exit 2 on a usage error), then run the command on the
    reactor and exit with its status."""
    args = parser().parse_args(argv)
    # What the libraries log (a connection's failure, again) stays out of the one line.
    globalLogBeginner.beginLoggingTo([], discardBuffer=True, redirectStandardIO=False)
    react(_run, [args])


async def _run(reactor: Any, args: argparse.Namespace) -> None:
    try:
        await args.run(as_reactor(reactor), args)
    except _EXPECTED as error:
        _fail(str(error))
    except Exception as error:  # one line still; the class says where to look
        _fail(f"{type(error).__name__}: {error}".splitlines()[0])


def _fail(message: str) -> NoReturn:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(1)
