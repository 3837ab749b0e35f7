"""Listening: a Twisted endpoint string, or a port shared with other processes (SO_REUSEPORT).

Twisted's endpoints do not set SO_REUSEPORT, so for --reuse-port the socket is made here, bound
and listening, and handed to the reactor with adoptStreamPort.
"""

from __future__ import annotations

import socket
from typing import Any

from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort
from twisted.web.server import Site

from socialhub.config import ConfigError
from socialhub.reactor import Reactor

DEFAULT_BACKLOG = 1024


def _tcp_options(description: str) -> tuple[int, str, int]:
    """(port, interface, backlog) of a `tcp:PORT[:interface=..][:backlog=..]` description."""
    kind, _, rest = description.partition(":")
    parts = rest.split(":")
    if kind != "tcp" or not parts[0].isdigit():
        raise ConfigError("--reuse-port works with a tcp:PORT listen endpoint only")
    options = dict(part.split("=", 1) for part in parts[1:] if "=" in part)
    return int(parts[0]), options.get("interface", ""), int(options.get("backlog", DEFAULT_BACKLOG))


def _shared_socket(port: int, interface: str, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in interface else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((interface, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


def check_listen(description: str, reuse_port: bool) -> None:
    """Refuse at start a --listen that cannot be used: an unknown endpoint type, a missing or
    bad argument, a certificate file that is not there, or not tcp: with --reuse-port."""
    from twisted.internet import reactor  # twistd installs its chosen reactor before this runs

    try:
        serverFromString(reactor, description)
    except (ValueError, TypeError, KeyError, IndexError, OSError) as error:
        raise ConfigError(f"--listen: {description!r} is not a usable endpoint ({error})") from None
    if reuse_port:
        _tcp_options(description)


async def listen(
    reactor: Reactor, description: str, site: Site, reuse_port: bool
) -> IListeningPort:
    """Start listening for `site` as the --listen and --reuse-port options say."""
    if not reuse_port:
        port: IListeningPort = await serverFromString(reactor, description).listen(site)
        return port
    sock = _shared_socket(*_tcp_options(description))
    try:
        # Twisted types the factory as a generic ServerFactory that its own Site does not match.
        factory: Any = site
        adopted: IListeningPort = reactor.adoptStreamPort(sock.fileno(), sock.family, factory)
    finally:
        sock.close()  # the reactor holds its own duplicate of the descriptor
    return adopted
