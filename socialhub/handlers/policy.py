"""Who may reach whom: each rule is one function here, used by every path that needs it.

The follow graph's questions are asked here and nowhere else: the private-message rule (the
WebSocket `private` frame), who may see a followers or following list (REST), "is A an
accepted follower of B", and "does either of A and B block the other" (section 3b: follows,
private messages and group invitations between the two are refused). Who may see a post is the
one rule of handlers/post_visibility.py, an SQL condition the stores apply to every read of
posts (a blocker's posts are hidden from whom they block there); that a blocker is not told what
the blocked user does is NotificationsStore's insert. docs/privacy.md has the whole model as
tables.
"""

from __future__ import annotations

from socialhub.errors import Forbidden, InvalidRequest, NotFound
from socialhub.storage.stores.blocks import BlocksStore
from socialhub.storage.stores.follows import ACCEPTED, FollowsStore
from socialhub.storage.stores.users import User, UsersStore

# What either side of a block hears when they try to reach the other. It never says "blocked":
# the blocked user is not told, and the refusal reads as any other.
NOT_ALLOWED = "you are not allowed to do this with this user"


class Policy:
    """The authorization rules between users."""

    def __init__(self, users: UsersStore, follows: FollowsStore, blocks: BlocksStore) -> None:
        self._users = users
        self._follows = follows
        self._blocks = blocks

    async def is_accepted_follower(self, follower_id: int, followee_id: int) -> bool:
        """Does `follower_id` follow `followee_id`, accepted (a pending request is not enough)?

        This is what a private profile shares its content with: its followers list, and its
        posts (that rule, for whole pages at once, is handlers/post_visibility.py's).
        """
        return await self._follows.status(follower_id, followee_id) == ACCEPTED

    async def may_see_follow_lists(self, viewer_id: int, owner: User) -> bool:
        """May the viewer see `owner`'s followers and following lists? Everyone may for a public
        profile; for a private one, the owner and their accepted followers only."""
        if not owner.is_private or viewer_id == owner.id:
            return True
        return await self.is_accepted_follower(viewer_id, owner.id)

    async def check_not_blocked(self, actor_id: int, other_id: int) -> None:
        """Raise Forbidden when either of the two blocks the other (section 3b).

        Used by every path by which one user reaches another directly: a follow, a private
        message, a group invitation. A block works both ways for these, so that the blocker
        cannot start what they refuse to receive either.
        """
        if await self._blocks.between(actor_id, other_id):
            raise Forbidden(NOT_ALLOWED)

    async def check_may_message(self, sender_id: int, recipient_id: int) -> None:
        """May `sender_id` send a private message to `recipient_id`? Raises when not.

        Anyone may write to a public profile; to a private one only when either of the two
        follows the other (accepted), so a private user can also answer their own followers;
        never when either blocks the other. Oneself never (invalid), an unknown recipient is not
        found.
        """
        if sender_id == recipient_id:
            raise InvalidRequest("you cannot send a message to yourself")
        recipient = await self._users.get(recipient_id)
        if recipient is None:
            raise NotFound("no such user")
        await self.check_not_blocked(sender_id, recipient_id)
        if recipient.is_private and not await self._follows.connected(sender_id, recipient_id):
            raise Forbidden("this profile is private: only its follows and followers may write")
