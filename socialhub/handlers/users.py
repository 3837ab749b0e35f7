"""Users and follows (docs/api/rest.md): profiles, search, profile edits, following,
and the requests that follows of private profiles are; blocking (docs/privacy.md); and who
is online, as each viewer may see it (storage/stores/presence.py says who may).

Who may see what is asked of handlers.policy, which also says why a follow between two users
is refused when either blocks the other (the store reads the block where it writes). Every
notification is stored by the store in the transaction of its action, then pushed by
Notifications.notify once that has committed; it goes to the other party, never to the one
who acted.
"""

from __future__ import annotations

from collections.abc import Sequence

from twisted.internet.interfaces import IReactorTime

from socialhub.delivery.interface import Delivery
from socialhub.errors import Forbidden, InvalidRequest, NotFound
from socialhub.handlers.commands import KEEP, UpdateProfile
from socialhub.handlers.notifications import Notifications
from socialhub.handlers.policy import Policy, refused_by_block
from socialhub.storage.stores.blocks import Blocked, BlocksStore
from socialhub.storage.stores.follows import ACCEPTED, PENDING, Followed, FollowsStore, Profile
from socialhub.storage.stores.media import MediaNotClaimable
from socialhub.storage.stores.notifications import Notice
from socialhub.storage.stores.presence import PresenceStore
from socialhub.storage.stores.users import User, display_name_key


def _profile_columns(edit: UpdateProfile) -> dict[str, object]:
    """The users columns a profile edit sets (and follows.EDITABLE_COLUMNS allows)."""
    columns: dict[str, object] = {}
    if edit.display_name is not None:
        columns["display_name"] = edit.display_name
        columns["display_name_key"] = display_name_key(edit.display_name)
    if edit.about is not None:
        columns["about"] = edit.about
    if edit.is_private is not None:
        columns["is_private"] = edit.is_private
    if edit.avatar_media_id is not KEEP:
        columns["avatar_media_id"] = edit.avatar_media_id
    if edit.show_presence is not None:
        columns["show_presence"] = edit.show_presence
    return columns


def follow_notices(actor: User, target_id: int) -> dict[str, Notice]:
    """What a new follow row tells its target, by the row's status: `friend_request` for a
    request, `new_follower` for a follow."""
    request = f"{actor.username} asked to follow you"
    follow = f"{actor.username} started following you"
    return {
        PENDING: Notice([target_id], "friend_request", request, actor_id=actor.id),
        ACCEPTED: Notice([target_id], "new_follower", follow, actor_id=actor.id),
    }


def accepted_notice(accepter: User, requester_ids: list[int]) -> Notice:
    message = f"{accepter.username} accepted your follow request"
    return Notice(requester_ids, "friend_accept", message, actor_id=accepter.id)


class Users:
    """The rules of users, follows and blocks."""

    def __init__(
        self,
        clock: IReactorTime,
        follows: FollowsStore,
        policy: Policy,
        notifications: Notifications,
        blocks: BlocksStore,
        presence: PresenceStore,
        delivery: Delivery,
    ) -> None:
        self._clock = clock
        self._follows = follows
        self._policy = policy
        self._notifications = notifications
        self._blocks = blocks
        self._presence = presence
        self._delivery = delivery

    def _now(self) -> int:
        return int(self._clock.seconds())

    async def profile(self, viewer_id: int, user_id: int) -> Profile:
        """The user as the viewer sees them; 404 when there is none."""
        found = await self._follows.profile(viewer_id, user_id)
        if found is None:
            raise NotFound("no such user")
        return found

    async def search(self, viewer: User, query: str, limit: int, offset: int) -> list[Profile]:
        """Every profile is discoverable, private ones too (their lists stay hidden)."""
        return await self._follows.search(viewer.id, query, limit, offset)

    async def update_me(self, viewer: User, edit: UpdateProfile) -> Profile:
        """Edit one's profile. Going public accepts every pending request: on a public profile
        a follow is immediate, so no one is left waiting for an answer that is no longer asked.
        An avatar is one's own upload that no post or comment holds (400 otherwise, and nothing
        changes); null removes it. Hiding one's presence, or showing it again, is announced to
        one's audience while one is online."""
        columns = _profile_columns(edit)
        notice = accepted_notice(viewer, [])  # the store names the requesters it accepts
        try:
            profile, stored = await self._follows.update_profile(
                viewer.id, columns, self._now(), notice
            )
        except MediaNotClaimable:
            raise InvalidRequest("avatar_media_id must be an unattached upload of yours") from None
        self._notifications.notify(stored)
        shown = edit.show_presence
        if shown is not None and shown != viewer.show_presence:
            await self._delivery.presence_shown(viewer.id, shown)
        return profile

    async def presence(self, viewer: User, user_ids: Sequence[int]) -> dict[int, str]:
        """Each user's status as the viewer may see it: offline unless the viewer is in their
        audience, they show their presence, and they are online on some process."""
        visible = await self._presence.visible(viewer.id, user_ids)
        online = await self._delivery.online(visible) if visible else set()
        return {user_id: "online" if user_id in online else "offline" for user_id in user_ids}

    async def follow(self, viewer: User, user_id: int) -> Followed:
        """Follow a public profile, or ask to follow a private one; a repeat changes nothing.
        Never between two users when either blocks the other (403)."""
        if user_id == viewer.id:
            raise InvalidRequest("you cannot follow yourself")
        notices = follow_notices(viewer, user_id)
        try:
            followed = await self._follows.follow(viewer.id, user_id, self._now(), notices)
        except Blocked:
            raise refused_by_block() from None
        if followed is None:
            raise NotFound("no such user")
        self._notifications.notify(followed.notifications)
        return followed

    async def unfollow(self, viewer: User, user_id: int) -> None:
        """Stop following, or withdraw a request; nothing to undo is fine too."""
        await self.profile(viewer.id, user_id)
        await self._follows.unfollow(viewer.id, user_id)

    async def requests(self, viewer: User, limit: int, offset: int) -> list[tuple[Profile, int]]:
        """Incoming pending requests: (requester, requested at)."""
        return await self._follows.requests(viewer.id, limit, offset)

    async def accept(self, viewer: User, requester_id: int) -> None:
        notice = accepted_notice(viewer, [requester_id])
        stored = await self._follows.accept(viewer.id, requester_id, self._now(), notice)
        if stored is None:
            raise NotFound("no such follow request")
        self._notifications.notify(stored)

    async def decline(self, viewer: User, requester_id: int) -> None:
        """Refuse a request; the requester is not told (they see `none` again)."""
        if not await self._follows.decline(viewer.id, requester_id):
            raise NotFound("no such follow request")

    async def followers(self, viewer: User, user_id: int, limit: int, offset: int) -> list[Profile]:
        await self._check_lists_visible(viewer, user_id)
        return await self._follows.followers(viewer.id, user_id, limit, offset)

    async def following(self, viewer: User, user_id: int, limit: int, offset: int) -> list[Profile]:
        await self._check_lists_visible(viewer, user_id)
        return await self._follows.following(viewer.id, user_id, limit, offset)

    async def _check_lists_visible(self, viewer: User, user_id: int) -> None:
        owner = await self.profile(viewer.id, user_id)
        if not await self._policy.may_see_follow_lists(viewer.id, owner.user):
            raise Forbidden("this profile is private: only its followers see its follows")

    async def block(self, viewer: User, user_id: int) -> None:
        """Block a user: the follows and requests between the two, both ways, go with the same
        transaction; a repeat is fine. 400 for oneself, 404 for an unknown user (or one the
        viewer may not see: a deactivated account)."""
        if user_id == viewer.id:
            raise InvalidRequest("you cannot block yourself")
        if not await self._blocks.block(viewer.id, user_id, self._now()):
            raise NotFound("no such user")

    async def unblock(self, viewer: User, user_id: int) -> None:
        """Lift a block (nothing to lift is fine too); the removed follows are not restored."""
        await self.profile(viewer.id, user_id)
        await self._blocks.unblock(viewer.id, user_id)

    async def blocked(self, viewer: User, limit: int, offset: int) -> list[User]:
        """The users the viewer blocks, most recent block first."""
        return await self._blocks.blocked_by(viewer.id, limit, offset)
