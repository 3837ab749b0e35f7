"""Message history: who may read a conversation, then its page.

Each is one read without BEGIN and COMMIT (two round trips, where a transaction around them
took four), and a page with messages one more read: the reactions of all its messages. The
check comes first, also when a paging field is bad: the contract answers an
unknown conversation (404) or a refused reader (403) before a bad field (400).
"""

from __future__ import annotations

from socialhub.errors import NotFound
from socialhub.handlers.accounts import Viewer
from socialhub.handlers.commands import GroupHistory, Paging, PrivateHistory, accepted
from socialhub.handlers.membership import Membership
from socialhub.storage.stores.message_changes import MessageChangesStore, ReactionCount
from socialhub.storage.stores.messages import Message, MessagesStore, Page
from socialhub.storage.stores.users import UsersStore


def _page(paging: Paging) -> Page:
    """The page asked for, once the reader was let in; the refusal of a bad paging field."""
    asked = accepted(paging)
    return Page(limit=asked.limit, offset=asked.offset, before=asked.before)


# A history page: each message as it is now, with its reactions as the viewer sees them.
Items = list[tuple[Message, list[ReactionCount]]]


class History:
    """The pages of private conversations and groups, newest first."""

    def __init__(
        self,
        messages: MessagesStore,
        changes: MessageChangesStore,
        users: UsersStore,
        membership: Membership,
    ) -> None:
        self._messages = messages
        self._changes = changes
        self._users = users
        self._membership = membership

    async def private(self, viewer: Viewer, query: PrivateHistory) -> Items:
        """404 when there is no such user, unless the viewer exchanged messages with a user
        whose account was deleted (theirs are tombstones). Nothing else is refused: what two
        users exchanged stays readable by both, whatever blocks or follows changed since."""
        viewer_id, peer_id = viewer.user.id, query.user_id
        if await self._users.get(peer_id) is None and not await self._messages.exchanged(
            viewer_id, peer_id
        ):
            raise NotFound("no such user")
        page = _page(query.paging)
        found = await self._messages.private_history(viewer_id, peer_id, page)
        return await self._with_reactions(viewer, found)

    async def group(self, viewer: Viewer, query: GroupHistory) -> Items:
        """Members only (404 for an unknown group, else 403). A membership ended between the
        check and the page lets the page through, as it would have a moment earlier."""
        await self._membership.require_member(query.group_id, viewer.user.id)
        found = await self._messages.group_history(query.group_id, _page(query.paging))
        return await self._with_reactions(viewer, found)

    async def _with_reactions(self, viewer: Viewer, messages: list[Message]) -> Items:
        """The page's messages with their reactions, read at once (none for a tombstone)."""
        alive = [message.id for message in messages if message.deleted_at is None]
        reactions = await self._changes.reactions(alive, viewer.user.id)
        return [(message, reactions.get(message.id, [])) for message in messages]
