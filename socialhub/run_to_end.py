"""Work that goes on when its caller stops waiting.

Klein cancels the Deferred of a request whose client went away, and a timeout cancels what it
waits for. Cancelled halfway, a database transaction gave its connection back with its query
still running, and a thread writing a file lost track of it. Such work is awaited through
`run_to_end`: the caller can stop waiting; the work finishes (and cleans up) all the same.
"""

from __future__ import annotations

from typing import TypeVar

from twisted.internet.defer import Deferred

T = TypeVar("T")


def run_to_end(work: Deferred[T]) -> Deferred[T]:
    """A Deferred with `work`'s result, whose cancellation leaves `work` running."""
    waited: Deferred[T] = Deferred()
    work.chainDeferred(waited)
    return waited
