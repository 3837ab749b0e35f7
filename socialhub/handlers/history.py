"""Message history: who may read a conversation, then its page.

Each is one read without BEGIN and COMMIT (two round trips, where a transaction around them
took four). The check comes first, also when a paging field is bad: the contract answers an
unknown conversation (404) or a refused reader (403) before a bad field (400).
"""

from __future__ import annotations

from socialhub.errors import NotFound
from socialhub.handlers.accounts import Viewer
from socialhub.handlers.commands import GroupHistory, Paging, PrivateHistory, accepted
from socialhub.handlers.membership import Membership
from socialhub.storage.stores.messages import Message, MessagesStore, Page
from socialhub.storage.stores.users import UsersStore


def _page(paging: Paging) -> Page:
    """The page asked for, once the reader was let in; the refusal of a bad paging field."""
    asked = accepted(paging)
    return Page(limit=asked.limit, offset=asked.offset, before=asked.before)


class History:
    """The pages of private conversations and groups, newest first."""

    def __init__(self, messages: MessagesStore, users: UsersStore, membership: Membership) -> None:
        self._messages = messages
        self._users = users
        self._membership = membership

    async def private(self, viewer: Viewer, query: PrivateHistory) -> list[Message]:
        """404 when there is no such user. Nothing else is refused: what two users exchanged
        stays readable by both, whatever blocks or follows changed since."""
        if await self._users.get(query.user_id) is None:
            raise NotFound("no such user")
        page = _page(query.paging)
        return await self._messages.private_history(viewer.user.id, query.user_id, page)

    async def group(self, viewer: Viewer, query: GroupHistory) -> list[Message]:
        """Members only (404 for an unknown group, else 403). A membership ended between the
        check and the page lets the page through, as it would have a moment earlier."""
        await self._membership.require_member(query.group_id, viewer.user.id)
        return await self._messages.group_history(query.group_id, _page(query.paging))
