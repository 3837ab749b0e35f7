"""Whose request this is: the peer's address, or the client's as the trusted proxy reports it."""

from __future__ import annotations


def client_of(peer: str, forwarded_for: str | None, trusted_proxy: str | None) -> str:
    """`peer`, unless it is the trusted proxy: then the last address of its X-Forwarded-For (the
    one the proxy itself added; earlier ones are whatever the client claimed)."""
    if trusted_proxy and peer == trusted_proxy and forwarded_for:
        return forwarded_for.split(",")[-1].strip() or peer
    return peer
