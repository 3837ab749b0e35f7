"""The JSON shapes of the contract's objects, built from store records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from socialhub.storage.stores.users import User


def rfc3339(timestamp: int) -> str:
    """Unix seconds as the contract's `created_at`: RFC 3339 in UTC, e.g. 2023-01-01T12:00:00Z."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_object(user: User, viewer_id: int) -> dict[str, Any]:
    """The user object; `email` only for the user themself."""
    body: dict[str, Any] = {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "about": user.about,
        "is_private": user.is_private,
        "is_admin": user.is_admin,
        "created_at": rfc3339(user.created_at),
        "followers_count": 0,
        "following_count": 0,
    }
    if user.id == viewer_id:
        body["email"] = user.email
    else:
        body["follow_status"] = "none"
    return body
