"""The reactor as one type: what the wiring hands to every part.

Twisted describes a reactor by many interfaces (time, threads, TCP, sockets, its own life), and
the global reactor is typed by a make-believe interface of the common ones. socialhub's parts
each ask for the narrowest they need (a clock is an `IReactorTime`); the wiring, which builds
them all from one reactor, takes this sum of every interface they need. The real reactor enters
once, in tap.py, and tests pass theirs (a real one, or a `MemoryReactorClock`) the same way.
"""

from __future__ import annotations

from typing import Any, cast

from twisted.internet.interfaces import (
    IReactorCore,
    IReactorSocket,
    IReactorTCP,
    IReactorThreads,
    IReactorTime,
)


class Reactor(IReactorCore, IReactorTime, IReactorThreads, IReactorTCP, IReactorSocket):
    """Every reactor interface socialhub's parts use; the reactors it runs on provide them all
    (the epoll reactor in production, `MemoryReactorClock` in the fast tests)."""


def as_reactor(reactor: Any) -> Reactor:
    """`reactor` as a Reactor: Twisted's reactors provide each of its interfaces, but do not
    declare the sum, so the one place a reactor comes in names it so."""
    return cast(Reactor, reactor)
