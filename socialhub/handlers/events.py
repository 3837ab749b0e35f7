"""Group events: creating and listing them, and answering them.

Only accepted members of the event's group see or touch an event (handlers.membership, 404 for
an unknown group or event before 403). Notifications are stored by the store in the transaction
of the action and pushed by Notifications.notify once that has committed.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime

from socialhub.errors import Forbidden, NotFound
from socialhub.handlers.commands import AnswerEvent, CreateEvent, Refusable, accepted
from socialhub.handlers.membership import Membership
from socialhub.handlers.notifications import Notifications
from socialhub.storage.stores.events import GOING, Draft, Event, EventsStore
from socialhub.storage.stores.notifications import Notice
from socialhub.storage.stores.users import User


def _no_longer_member() -> Forbidden:
    """The membership ended between the check and the write."""
    return Forbidden("only the group's members may do this")


def _answer_notice(viewer: User, event: Event, response: str) -> Notice:
    """`event_rsvp` for the event's creator (the store finds them, so no user ids here)."""
    verb = "is going" if response == GOING else "is not going"
    message = f"{viewer.username} {verb} to your event '{event.title}'"
    return Notice(
        [], "event_rsvp", message, actor_id=viewer.id, group_id=event.group_id, event_id=event.id
    )


class Events:
    """The rules of group events and their answers."""

    def __init__(
        self,
        clock: IReactorTime,
        events: EventsStore,
        membership: Membership,
        notifications: Notifications,
    ) -> None:
        self._clock = clock
        self._events = events
        self._membership = membership
        self._notifications = notifications

    def _now(self) -> int:
        return int(self._clock.seconds())

    async def create(self, viewer: User, group_id: int, new: Refusable[CreateEvent]) -> Event:
        """Create an event; every other accepted member is notified `new_event`. A bad field
        is refused once the viewer is found to be a member (404, 403 first)."""
        group = await self._membership.require_member(group_id, viewer.id)
        asked = accepted(new)
        draft = Draft(group_id, viewer.id, asked.title, asked.description, asked.starts_at)
        message = f"{viewer.username} created the event '{draft.title}' in group '{group.name}'"
        notice = Notice([], "new_event", message, actor_id=viewer.id, group_id=group_id)
        created = await self._events.create(draft, notice, self._now())
        if created is None:
            raise _no_longer_member()
        event, notified = created
        self._notifications.notify(notified)
        return event

    async def in_group(self, viewer: User, group_id: int, limit: int, offset: int) -> list[Event]:
        await self._membership.require_member(group_id, viewer.id)
        return await self._events.in_group(group_id, viewer.id, limit, offset)

    async def get(self, viewer: User, event_id: int) -> Event:
        """The event, for an accepted member of its group (404 unknown, else 403)."""
        event = await self._events.get(event_id, viewer.id)
        if event is None:
            raise NotFound("no such event")
        await self._membership.require_member(event.group_id, viewer.id)
        return event

    async def answer(self, viewer: User, event_id: int, answer: Refusable[AnswerEvent]) -> str:
        """Answer `going` or `not_going`, or change one's answer. The creator is notified
        `event_rsvp` of others' answers when new or changed, not when the same one is resent."""
        event = await self.get(viewer, event_id)
        response = accepted(answer).response
        own = viewer.id == event.creator_id
        notice = None if own else _answer_notice(viewer, event, response)
        notified = await self._events.answer(event_id, viewer.id, response, self._now(), notice)
        if notified is None:
            raise _no_longer_member()
        self._notifications.notify(notified)
        return response
