"""Who may reach whom: each rule is one function here, used by every path that needs it.

The follow graph's questions are asked here and nowhere else: the private-message rule (the
WebSocket `private` frame), who may see a followers or following list (REST), "is A an accepted
follower of B", what a block between A and B refuses (section 3b: follows, private messages and
group invitations between the two; the stores read the block in the write's own transaction and
hold the write back, `blocks.Blocked`, and `refused_by_block` says why), and who may read a
private conversation's history is handlers/history.py's. Who may see a post is the one rule of
storage/stores/post_visibility.py, an SQL condition the stores apply to every read of posts (a
blocker's posts are hidden from whom they block there); that a blocker is not told what the
blocked user does is NotificationsStore's insert. docs/privacy.md has the whole model as tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from socialhub.errors import Forbidden, InvalidRequest, NotFound, SocialHubError
from socialhub.storage.database import Reader
from socialhub.storage.stores.follows import ACCEPTED, FollowsStore
from socialhub.storage.stores.reach import Pair, Reach, ReachCache
from socialhub.storage.stores.users import User

# What either side of a block hears when they try to reach the other. It never says "blocked":
# the blocked user is not told, and the refusal reads as any other.
NOT_ALLOWED = "you are not allowed to do this with this user"


class Policy:
    """The authorization rules between users."""

    def __init__(self, follows: FollowsStore, reach: ReachCache) -> None:
        self._follows = follows
        self._reach = reach  # the facts of private messages, kept until they change

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

    async def message_refusals(
        self, reads: Reader, pairs: Sequence[Pair | None]
    ) -> dict[int, SocialHubError]:
        """Why each refused (sender, recipient) pair may not send a private message, by index
        (None stands for a message that is not private).

        Anyone may write to a public profile; to a private one only when either of the two
        follows the other (accepted), so a private user can also answer their own followers;
        never when either blocks the other. Oneself never (invalid), an unknown recipient is not
        found. Asked just before the messages are stored, for a whole batch at once.
        """
        facts = await self._reach.of(reads, {pair for pair in pairs if pair and pair[0] != pair[1]})
        refusals = {}
        for index, pair in enumerate(pairs):
            refusal = None if pair is None else _message_refusal(pair, facts.get(pair))
            if refusal is not None:
                refusals[index] = refusal
        return refusals


def refused_by_block() -> Forbidden:
    """What a follow or a group invitation between two users gets when either blocks the other
    (section 3b; a private message gets the same from message_refusals). A block works both
    ways for these, so that the blocker cannot start what they refuse to receive either."""
    return Forbidden(NOT_ALLOWED)


def _message_refusal(pair: Pair, reach: Reach | None) -> SocialHubError | None:
    if pair[0] == pair[1]:
        return InvalidRequest("you cannot send a message to yourself")
    if reach is None or not reach.recipient_exists:
        return NotFound("no such user")
    if reach.blocked:
        return refused_by_block()
    if reach.recipient_private and not reach.connected:
        return Forbidden("this profile is private: only its follows and followers may write")
    return None
