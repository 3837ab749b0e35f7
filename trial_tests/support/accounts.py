"""What account tests of both tiers share: the password everyone registers with, and the body
that registers a user."""

from __future__ import annotations

from typing import Any

PASSWORD = "correct horse"


def register_body(username: str, **fields: Any) -> dict[str, Any]:
    """A register body for `username` (email username@example.org) with `fields` replaced."""
    return {
        "username": username,
        "email": f"{username}@example.org",
        "password": PASSWORD,
        **fields,
    }
