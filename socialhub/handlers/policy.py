"""Who may reach whom: each rule is one function here, used by every path that needs it.

The follow graph's questions are asked here: who may see a followers or following list (REST),
"is A an accepted follower of B", and what a block between A and B refuses (follows, private
messages and group invitations between the two; the stores read the block in the write's own
transaction and hold the write back, `blocks.Blocked`, and `refused_by_block` says why). The
private-message rule (the WebSocket `private` frame) lives in the SQL of the write that stores
the messages, in one place (`refusal` in storage/stores/message_rows.py), so that it sees every
block and follow committed before the write, whichever process committed it; here is only what
each refusal answers (`message_refusal`). Who may read a private conversation's history is
handlers/history.py's. Who may see a post is the one rule of
storage/stores/post_visibility.py, an SQL condition the stores apply to every read of posts (a
blocker's posts are hidden from whom they block there); that a blocker is not told what the
blocked user does is NotificationsStore's insert. docs/privacy.md has the whole model as tables.
"""

from __future__ import annotations

from collections.abc import Callable

from socialhub.errors import Forbidden, InvalidRequest, NotFound, SocialHubError
from socialhub.storage.stores.follows import ACCEPTED, FollowsStore
from socialhub.storage.stores.message_rows import (
    BLOCKED,
    NO_REPLY,
    NO_SUCH_USER,
    PRIVATE,
    TO_SELF,
    Refused,
)
from socialhub.storage.stores.users import User

# What either side of a block hears when they try to reach the other. It never says "blocked":
# the blocked user is not told, and the refusal reads as any other.
NOT_ALLOWED = "you are not allowed to do this with this user"


class Policy:
    """The authorization rules between users."""

    def __init__(self, follows: FollowsStore) -> None:
        self._follows = follows

    async def is_accepted_follower(self, follower_id: int, followee_id: int) -> bool:
        """Does `follower_id` follow `followee_id`, accepted (a pending request is not enough)?

        This is what a private profile shares its content with: its followers list, and its
        posts (that rule, for whole pages at once, is storage/stores/post_visibility.py's).
        """
        return await self._follows.status(follower_id, followee_id) == ACCEPTED

    async def may_see_follow_lists(self, viewer_id: int, owner: User) -> bool:
        """May the viewer see `owner`'s followers and following lists? Everyone may for a public
        profile; for a private one, the owner and their accepted followers only."""
        if not owner.is_private or viewer_id == owner.id:
            return True
        return await self.is_accepted_follower(viewer_id, owner.id)


# The answer to each reason the private-message rule gives (storage/stores/message_rows.py).
_REFUSALS: dict[str, Callable[[], SocialHubError]] = {
    TO_SELF: lambda: InvalidRequest("you cannot send a message to yourself"),
    NO_SUCH_USER: lambda: NotFound("no such user"),
    BLOCKED: lambda: Forbidden(NOT_ALLOWED),
    PRIVATE: lambda: Forbidden("this profile is private: only its follows and followers may write"),
    NO_REPLY: lambda: NotFound("no such message in this conversation to reply to"),
}


def require_admin(user: User) -> None:
    """The one rule of what only administrators may do: the administration API (every
    /api/admin route, checked by the REST edge before the route runs) and broadcasts."""
    if not user.is_admin:
        raise Forbidden("only administrators may do this")


def refused_by_block() -> Forbidden:
    """What a follow or a group invitation between two users gets when either blocks the other
    (a private message gets the same from message_refusal). A block works both
    ways for these, so that the blocker cannot start what they refuse to receive either."""
    return Forbidden(NOT_ALLOWED)


def message_refusal(refused: Refused) -> SocialHubError:
    """The error a message refused by the write's SQL is answered with."""
    return _REFUSALS[refused.reason]()
