"""Who may reach whom: each rule is one function here, used by every path that needs it."""

from __future__ import annotations

from socialhub.errors import InvalidRequest, NotFound
from socialhub.storage.stores.users import UsersStore


class Policy:
    """The authorization rules between users."""

    def __init__(self, users: UsersStore) -> None:
        self._users = users

    async def check_may_message(self, sender_id: int, recipient_id: int) -> None:
        """May `sender_id` send a private message to `recipient_id`? Raises when not.

        Until the follow graph exists every profile is public, so any existing user may be
        messaged; oneself never.
        """
        if sender_id == recipient_id:
            raise InvalidRequest("you cannot send a message to yourself")
        if await self._users.get(recipient_id) is None:
            raise NotFound("no such user")
