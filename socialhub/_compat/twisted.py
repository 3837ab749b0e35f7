"""What socialhub relies on of Twisted beyond its public API.

Sending straight to a connection's socket (ws/direct_write.py) is safe only while nothing is
queued in the transport: Twisted keeps that in `dataBuffer` and `_tempDataBuffer`. A request
body's limit depends on its path before the Request has it (http/site.py): the HTTP channel
keeps it in `_path` meanwhile. None of these are public API: trial_tests/test_compat_twisted.py
fails if Twisted changes them.
"""

from __future__ import annotations

import socket
from typing import Any

from twisted.internet import tcp


def plain_socket(transport: Any) -> socket.socket | None:
    """The socket of a plain TCP transport; None on TLS or any other transport."""
    if isinstance(transport, tcp.Connection) and not transport.TLS:
        plain: socket.socket = transport.socket
        return plain
    return None


def nothing_queued(transport: tcp.Connection) -> bool:
    """Whether the transport has no bytes waiting to be written (so new ones may go first)."""
    return not transport.dataBuffer and not transport._tempDataBuffer


def path_so_far(channel: Any) -> bytes:
    """The path (and query) of the request line the channel is reading the body of: a Request
    gets its own only once the whole body is in. Empty when there is none."""
    path: bytes = getattr(channel, "_path", b"") or b""
    return path
