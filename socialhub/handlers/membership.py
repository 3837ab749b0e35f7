"""Who may do what in a group: the one place each membership rule lives.

Every path that needs "is A an accepted member of G" or "is A the owner of G" asks here: the
REST group routes, the WebSocket `group` frame handler (`chat_recipients`, `member_ids`), group
posts and events, and a group's history. The `require_*` methods raise in the contract's order:
an unknown group is 404 before a refused caller is 403.

A write that must not outlive its check (an invitation, an owner's action) has the store read
the group in the write's own transaction and act only when the rule would let it; `existing`,
`check_member` and `check_owner` then raise, from what that transaction read, what refused it.
"""

from __future__ import annotations

from socialhub.errors import Forbidden, NotFound
from socialhub.storage.stores.groups import MEMBER, Group, GroupsStore


def is_owner(group: Group, user_id: int) -> bool:
    return group.owner_id == user_id


def role(group: Group, viewer_id: int) -> str | None:
    """The viewer's `membership` in the group object: owner, member, invited, requested or None.

    `group` must have been read for this viewer (its `viewer_status` is theirs).
    """
    return "owner" if is_owner(group, viewer_id) else group.viewer_status


def existing(group: Group | None) -> Group:
    """404 when there is no such group."""
    if group is None:
        raise NotFound("no such group")
    return group


def check_member(group: Group) -> None:
    """403 unless the viewer the group was read for is an accepted member."""
    if group.viewer_status != MEMBER:
        raise Forbidden("only the group's members may do this")


def check_owner(group: Group, viewer_id: int) -> None:
    """403 unless the viewer owns the group."""
    if not is_owner(group, viewer_id):
        raise Forbidden("only the group's owner may do this")


class Membership:
    """Membership questions about groups, answered from the store."""

    def __init__(self, groups: GroupsStore) -> None:
        self._groups = groups

    async def member_ids(self, group_id: int) -> list[int]:
        """The ids of every accepted member, for delivering a group's frames."""
        return await self._groups.member_ids(group_id)

    async def chat_recipients(self, group_id: int, sender_id: int) -> list[int]:
        """Who receives a group frame: every accepted member, once the sender is found to be one
        (404 unknown group, 403 not a member)."""
        await self.require_member(group_id, sender_id)
        return await self.member_ids(group_id)

    async def require_group(self, group_id: int, viewer_id: int) -> Group:
        """The group as the viewer sees it; 404 when there is none."""
        return existing(await self._groups.get(group_id, viewer_id))

    async def require_member(self, group_id: int, viewer_id: int) -> Group:
        """The group, when the viewer is an accepted member (404, else 403)."""
        group = await self.require_group(group_id, viewer_id)
        check_member(group)
        return group

    async def require_owner(self, group_id: int, viewer_id: int) -> Group:
        """The group, when the viewer owns it (404, else 403)."""
        group = await self.require_group(group_id, viewer_id)
        check_owner(group, viewer_id)
        return group
