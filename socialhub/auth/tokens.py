"""Session tokens: random, at least 256 bits, and stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets

COOKIE_NAME = "socialhub_session"
# Set and cleared with the session cookie, readable by the page's script, never read by the
# server: it only spares a logged-out page the request that would answer 401. It proves nothing.
HINT_COOKIE_NAME = "socialhub_signed_in"


def new_token() -> str:
    """A fresh opaque token (32 random bytes, URL-safe, fits a cookie unquoted)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()
