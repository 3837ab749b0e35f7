"""Which class of rate limit a REST request counts against (handlers/rate_limit.py's `Cost`).

Reading (GET, HEAD) is not limited. Every other method is: account actions, uploads and what
lands on another user have buckets of their own, stricter than the rest's.
"""

from __future__ import annotations

from socialhub.handlers.rate_limit import Cost

_ROUTES = {
    "/api/auth/register": Cost.ACCOUNT,
    "/api/auth/login": Cost.ACCOUNT,
    "/api/auth/password": Cost.ACCOUNT,
    "/api/auth/password-reset": Cost.ACCOUNT,
    "/api/auth/password-reset/confirm": Cost.ACCOUNT,
    "/api/auth/verify-email": Cost.ACCOUNT,
    "/api/media": Cost.UPLOAD,
    "/api/users/{user_id}/follow": Cost.SOCIAL,
    "/api/users/{user_id}/block": Cost.SOCIAL,
    "/api/groups/{group_id}/join": Cost.SOCIAL,
    "/api/groups/{group_id}/leave": Cost.SOCIAL,
    "/api/groups/invite": Cost.SOCIAL,
    "/api/groups/{group_id}/members/{user_id}": Cost.SOCIAL,
}
_READING = ("GET", "HEAD")


def cost_of(method: str, pattern: str) -> Cost | None:
    """The class of METHOD on a route pattern (`/api/posts/{post_id}`); None when not limited."""
    if method in _READING:
        return None
    return _ROUTES.get(pattern, Cost.WRITE)
