"""Reactions, edits and deletions of messages: each stored as a change of its own, then
delivered to everyone in the message's conversation and acked with the message's id.

The rules (who can see a message, who may edit or delete it) are decided in the change's own
transaction (storage/stores/message_changes.py's `refusal`), so that a deletion, a membership
or a change committed before it applies; here is what each refusal answers. A change that
changes nothing (a reaction one has, a message already deleted) is acked and delivered to no one.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime

from socialhub.delivery.frames import change_frame
from socialhub.delivery.interface import Connection, Delivery
from socialhub.errors import Forbidden, NotFound, SocialHubError
from socialhub.handlers.accounts import Viewer
from socialhub.handlers.commands import Answer, Delete, Edit, React
from socialhub.storage.stores.audit import AuditEntry
from socialhub.storage.stores.message_changes import (
    DELETE,
    EDIT,
    NOT_YOURS,
    REACTION,
    Asked,
    MessageChangesStore,
)


def _refused(reason: str) -> SocialHubError:
    """A message the actor may not see, or deleted, is not found; one they see but may not
    edit or delete is forbidden."""
    if reason == NOT_YOURS:
        return Forbidden("only the message's author (or the group's owner, to delete) may do this")
    return NotFound("no such message")


class MessageChanges:
    """The `reaction`, `edit` and `delete` frames."""

    def __init__(self, clock: IReactorTime, store: MessageChangesStore, delivery: Delivery) -> None:
        self._clock = clock
        self._store = store
        self._delivery = delivery

    # Each handler holds its sender's turn until the change is stored (a coroutine, as the
    # dispatcher takes them): a connection's next frame comes after it, as sent.

    async def react(
        self, sender: Connection, viewer: Viewer, command: React, client_id: str | None
    ) -> Deferred[Answer]:
        user_id, now = viewer.user.id, self._now()
        asked = Asked(
            REACTION, command.message_id, user_id, now, emoji=command.emoji, on=command.on
        )
        return succeed(await self._change(sender, asked))

    async def edit(
        self, sender: Connection, viewer: Viewer, command: Edit, client_id: str | None
    ) -> Deferred[Answer]:
        asked = Asked(EDIT, command.message_id, viewer.user.id, self._now(), command.content)
        return succeed(await self._change(sender, asked))

    async def delete(
        self, sender: Connection, viewer: Viewer, command: Delete, client_id: str | None
    ) -> Deferred[Answer]:
        asked = Asked(DELETE, command.message_id, viewer.user.id, self._now())
        return succeed(await self._change(sender, asked))

    async def moderate(self, actor_id: int | None, message_id: int, audit: AuditEntry) -> None:
        """An administrator deletes any message (404 when there is none): a tombstone as its
        sender's own deletion leaves, delivered to every connection of the conversation, and
        `audit` recorded with it. The caller checked the actor is an administrator."""
        asked = Asked(DELETE, message_id, actor_id, self._now(), moderated=True)
        await self._change(None, asked, audit)

    def _now(self) -> int:
        return int(self._clock.seconds())

    async def _change(
        self, sender: Connection | None, asked: Asked, audit: AuditEntry | None = None
    ) -> Answer:
        """Store the change, then deliver it with its position to the conversation's
        connections but the sending one, then announce the position (`committed`): its frame
        reaches the sequencer before its tick."""
        outcome = await self._store.change(asked, audit)
        if outcome.refusal is not None:
            raise _refused(outcome.refusal)
        message, change = outcome.message, outcome.change
        assert message is not None
        if change is None:  # nothing changed: a deletion is acked with when it was made
            return Answer(message.id, message.deleted_at or asked.now)
        frame = change_frame(change)
        position = change.stream_pos
        if change.group_id is None:
            self._delivery.to_users(outcome.audience, frame, exclude=sender, position=position)
        else:
            self._delivery.to_group(
                change.group_id, outcome.audience, frame, exclude=sender, position=position
            )
        self._delivery.committed(position, position)
        return Answer(message.id, change.created_at)
