"""Groups (events aside): creating, finding, changing, and the
membership lifecycle of invitations and join requests.

Authorization goes through handlers.membership (and handlers.policy for an invitation between
two users, refused when either blocks the other); an invitation's checks are read by the store
in the transaction of its write and refused here by those rules. Every notification is stored
by the store in the transaction of its action, then pushed by Notifications.notify once that
has committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from twisted.internet.interfaces import IReactorTime

from socialhub.delivery.interface import Delivery
from socialhub.errors import Conflict, InvalidRequest, NotFound, SocialHubError
from socialhub.handlers.commands import CreateGroup, Invite, Refusable, UpdateGroup
from socialhub.handlers.membership import (
    Membership,
    check_member,
    check_owner,
    existing,
    is_owner,
)
from socialhub.handlers.notifications import Notifications
from socialhub.handlers.policy import refused_by_block
from socialhub.storage.stores.blocks import Blocked
from socialhub.storage.stores.groups import (
    GROUP_NAME,
    INVITED,
    MEMBER,
    REQUESTED,
    Group,
    GroupsStore,
    Invited,
    InviteNotices,
    Owned,
)
from socialhub.storage.stores.notifications import Notice, Notification
from socialhub.storage.stores.users import User

T = TypeVar("T")
# Removes the files of media rows a committed deletion took away (MediaUploads.discard).
DiscardMedia = Callable[[Sequence[str]], Awaitable[None]]


@dataclass(frozen=True)
class Invitation:
    """The outcome of an invite: `invited`, or `member` when it answered a pending join request."""

    group_id: int
    user_id: int
    status: str


def _accepted_notice(group_id: int, group_name: str, user_id: int, actor_id: int) -> Notice:
    message = f"Your request to join group '{group_name}' was accepted"
    return Notice([user_id], "group_join_accept", message, actor_id=actor_id, group_id=group_id)


def _invite_notices(group_id: int, user_id: int, actor_id: int) -> InviteNotices:
    """What an invitation tells the invitee; the store names the group as it reads it."""
    message = f"You were invited to join group '{GROUP_NAME}'"
    invited = Notice([user_id], "group_invite", message, actor_id=actor_id, group_id=group_id)
    return InviteNotices(invited, _accepted_notice(group_id, GROUP_NAME, user_id, actor_id))


def _check_invited(invited: Invited, inviter_id: int) -> list[Notification]:
    """What an invitation stored; otherwise raise what refused it, in the contract's order
    (404 unknown group, 404 unknown user, 403 not a member, then 409). Only the owner turns a
    join request into a membership: another member's invitation of a requester is 409."""
    group = existing(invited.group)
    if not invited.invitee_exists:
        raise NotFound("no such user")
    check_member(group)
    if invited.notifications is not None:
        return invited.notifications
    if invited.status == REQUESTED and not is_owner(group, inviter_id):
        raise Conflict("the user asked to join already; the owner decides")
    if invited.status == REQUESTED:
        raise Conflict("the join request changed meanwhile; try again")
    raise Conflict("the user is already a member of or invited to this group")


def _owned(owned: Owned[T], viewer_id: int) -> tuple[Group, T]:
    """The group and the outcome of an owner's action, once the viewer is found to own the
    group as the action's transaction read it (404 unknown group, else 403)."""
    group = existing(owned.group)
    check_owner(group, viewer_id)
    return group, cast(T, owned.outcome)  # the owner's action was taken: this is its result


class Groups:
    """The rules of groups and their memberships."""

    def __init__(
        self,
        clock: IReactorTime,
        groups: GroupsStore,
        membership: Membership,
        notifications: Notifications,
        delivery: Delivery,
        discard_media: DiscardMedia,
    ) -> None:
        self._clock = clock
        self._groups = groups
        self._membership = membership
        self._notifications = notifications
        self._delivery = delivery
        self._discard_media = discard_media

    def _now(self) -> int:
        return int(self._clock.seconds())

    def _push(self, stored: list[Notification] | None, missing: SocialHubError) -> None:
        """Push what a conditional write stored; raise `missing` when it did not apply."""
        if stored is None:
            raise missing
        self._notifications.notify(stored)

    def _joined(self, group_id: int, user_id: int, joined: bool = True) -> None:
        """Tell every process that the user's sockets now do (not) hear the group's frames."""
        self._delivery.membership_changed(user_id, group_id, joined)

    async def create(self, viewer: User, new: CreateGroup) -> Group:
        group = await self._groups.create(new.name, new.description, viewer.id, self._now())
        self._joined(group.id, viewer.id)
        return group

    async def search(self, viewer: User, query: str, limit: int, offset: int) -> list[Group]:
        """Every group is discoverable; `query` is a case-insensitive substring of the name."""
        return await self._groups.search(query, viewer.id, limit, offset)

    async def get(self, viewer: User, group_id: int) -> Group:
        return await self._membership.require_group(group_id, viewer.id)

    async def members(self, viewer: User, group_id: int, limit: int, offset: int) -> list[User]:
        await self._membership.require_member(group_id, viewer.id)
        rows = await self._groups.users_with_status(group_id, MEMBER, limit, offset)
        return [user for user, _ in rows]

    async def join_requests(
        self, viewer: User, group_id: int, limit: int, offset: int
    ) -> list[tuple[User, int]]:
        """Pending join requests: (user, requested at)."""
        await self._membership.require_owner(group_id, viewer.id)
        return await self._groups.users_with_status(group_id, REQUESTED, limit, offset)

    async def invite(self, viewer: User, invite: Invite) -> Invitation:
        """Invite a user; the owner inviting someone who asked to join accepts their request
        instead, another member's invitation of them is 409 (the owner decides).
        Refused (403) between two users when either blocks the other.

        A `group_name` in the body (the original API sends one) is ignored: the notification
        names the stored group.
        One transaction checks and writes (GroupsStore.invite).
        """
        group_id, user_id = invite.group_id, invite.user_id
        notices = _invite_notices(group_id, user_id, viewer.id)
        try:
            invited = await self._groups.invite(group_id, viewer.id, user_id, self._now(), notices)
        except Blocked:
            raise refused_by_block() from None
        self._notifications.notify(_check_invited(invited, viewer.id))
        if invited.status == REQUESTED:
            self._joined(group_id, user_id)
            return Invitation(group_id, user_id, MEMBER)
        return Invitation(group_id, user_id, INVITED)

    async def join(self, viewer: User, group_id: int) -> str:
        """Ask to join (`requested`, the owner is notified), or accept a pending invitation."""
        group = await self._membership.require_group(group_id, viewer.id)
        if group.viewer_status == INVITED:
            stored = await self._groups.accept(group_id, viewer.id, INVITED, self._now(), None)
            self._push(stored, Conflict("the invitation was withdrawn meanwhile"))
            self._joined(group_id, viewer.id)
            return MEMBER
        if group.viewer_status is not None:
            raise Conflict(f"already {group.viewer_status} in this group")
        message = f"{viewer.username} asked to join group '{group.name}'"
        notice = Notice(
            [group.owner_id], "group_join_request", message, actor_id=viewer.id, group_id=group_id
        )
        stored = await self._groups.add(group_id, viewer.id, REQUESTED, self._now(), notice)
        self._push(stored, Conflict("already in this group"))
        return REQUESTED

    async def accept_request(self, viewer: User, group_id: int, user_id: int) -> None:
        notice = _accepted_notice(group_id, GROUP_NAME, user_id, viewer.id)
        owned = await self._groups.accept_request(group_id, viewer.id, user_id, self._now(), notice)
        _, stored = _owned(owned, viewer.id)
        self._push(stored, NotFound("no such join request"))
        self._joined(group_id, user_id)

    async def decline_request(self, viewer: User, group_id: int, user_id: int) -> None:
        owned = await self._groups.remove_by_owner(group_id, viewer.id, user_id, [REQUESTED])
        _, removed = _owned(owned, viewer.id)
        if not removed:
            raise NotFound("no such join request")

    async def remove_member(self, viewer: User, group_id: int, user_id: int) -> None:
        """Remove a member or withdraw an invitation; the owner cannot remove themself (409)."""
        statuses = [MEMBER, INVITED]
        owned = await self._groups.remove_by_owner(group_id, viewer.id, user_id, statuses)
        group, removed = _owned(owned, viewer.id)
        if is_owner(group, user_id):
            raise Conflict("the owner cannot be removed; transfer the ownership first")
        if not removed:
            raise NotFound("no such member or invitation")
        self._joined(group_id, user_id, joined=False)

    async def update(self, viewer: User, group_id: int, edit: Refusable[UpdateGroup]) -> Group:
        """Rename, describe, or hand the group over to another accepted member. One transaction
        checks the owner and writes; an invalid body is refused (400) once the viewer is found
        to own the group (404, 403 first)."""
        if isinstance(edit, InvalidRequest):
            await self._membership.require_owner(group_id, viewer.id)
            raise edit
        owned = await self._groups.update(
            group_id, viewer.id, edit.name, edit.description, edit.owner_id
        )
        _, group = _owned(owned, viewer.id)
        if group is None:
            raise InvalidRequest("owner_id must be an accepted member of the group")
        return group

    async def delete(self, viewer: User, group_id: int) -> None:
        """Delete the group with everything in it (rows that reference it cascade), and the
        image files of its posts."""
        _, (members, names) = _owned(await self._groups.delete(group_id, viewer.id), viewer.id)
        for user_id in members:
            self._joined(group_id, user_id, joined=False)
        await self._discard_media(names)

    async def accept_invitation(self, viewer: User, group_id: int) -> None:
        if await self._groups.accept(group_id, viewer.id, INVITED, self._now(), None) is None:
            raise NotFound("no pending invitation to this group")
        self._joined(group_id, viewer.id)

    async def decline_invitation(self, viewer: User, group_id: int) -> None:
        if not await self._groups.remove(group_id, viewer.id, [INVITED]):
            raise NotFound("no pending invitation to this group")

    async def leave(self, viewer: User, group_id: int) -> None:
        """Leave the group, or withdraw one's pending join request; the owner cannot leave (409)."""
        group = await self._membership.require_group(group_id, viewer.id)
        if is_owner(group, viewer.id):
            raise Conflict("the owner cannot leave; transfer the ownership first")
        if not await self._groups.remove(group_id, viewer.id, [MEMBER, REQUESTED]):
            raise NotFound("not a member of this group")
        self._joined(group_id, viewer.id, joined=False)
