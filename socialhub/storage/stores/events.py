"""The SQL of group events and their RSVPs.

Writes are conditional on the writer being an accepted member at that moment, so someone removed
between the handler's check and the write changes nothing. Notifications are stored in the same
transaction (NotificationsStore.add_selected), and events leave together with theirs
(`delete_group_events`): notifications.event_id has no foreign key to do it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

from socialhub.storage.database import Database, Row, Transaction, by_name, qualify, read_one
from socialhub.storage.stores.notifications import Notice, Notification, NotificationsStore

GOING: Final = "going"
NOT_GOING: Final = "not_going"
RESPONSES: Final = (GOING, NOT_GOING)

# The events columns of an Event, by name; `_SEEN_FIELDS` names those of `_SELECT_EVENT`.
_EVENT_FIELDS = ("id", "group_id", "creator_id", "title", "description", "starts_at", "created_at")
_EVENT_COLUMNS = ", ".join(_EVENT_FIELDS)
_SEEN_FIELDS = (*_EVENT_FIELDS, "going_count", "not_going_count", "my_response")
# Answers count only while their author is an accepted member: someone who left or was removed
# no longer counts as coming, and counts again on rejoining.
_COUNT_ANSWERS = (
    "(SELECT COUNT(*) FROM event_rsvps r JOIN group_members m"
    " ON m.group_id = e.group_id AND m.user_id = r.user_id AND m.is_accepted"
    " WHERE r.event_id = e.id AND r.response = '{response}')"
)
# The event, its two counts, and the viewer's own answer (the first `?`), as `_SEEN_FIELDS`
# names them: one statement for a whole page, the counts and answers found through
# event_rsvps' primary key.
_SELECT_EVENT = (
    f"SELECT {qualify(_EVENT_COLUMNS, 'e')},"
    f" {_COUNT_ANSWERS.format(response=GOING)}, {_COUNT_ANSWERS.format(response=NOT_GOING)},"
    " (SELECT v.response FROM event_rsvps v WHERE v.event_id = e.id AND v.user_id = ?)"
    " FROM events e"
)
# Who hears of a new event: every other accepted member of its group.
_OTHER_MEMBERS = (
    "SELECT user_id FROM group_members WHERE group_id = ? AND is_accepted AND user_id <> ?"
)
# Who hears of an answer: the event's creator, while still an accepted member of its group.
_CREATOR_IF_MEMBER = (
    "SELECT e.creator_id FROM events e JOIN group_members m"
    " ON m.group_id = e.group_id AND m.user_id = e.creator_id AND m.is_accepted WHERE e.id = ?"
)


@dataclass(frozen=True)
class Draft:
    """What a member asks to create: an event before it has an id."""

    group_id: int
    creator_id: int
    title: str
    description: str
    starts_at: int


@dataclass(frozen=True)
class Event:
    """An event as one viewer sees it: with its answer counts and the viewer's own answer."""

    id: int
    group_id: int
    creator_id: int
    title: str
    description: str
    starts_at: int
    created_at: int
    going_count: int = 0
    not_going_count: int = 0
    my_response: str | None = None

    @classmethod
    def from_row(cls, row: Row) -> Event:
        """A row of `_SELECT_EVENT`."""
        return cls(**by_name(_SEEN_FIELDS, row))


async def delete_group_events(txn: Transaction, group_id: int) -> None:
    """Delete a group's events and every notification about them, inside the caller's `txn`
    (the group's deletion); their answers cascade."""
    await txn.run(
        "DELETE FROM notifications WHERE event_id IN (SELECT id FROM events WHERE group_id = ?)",
        (group_id,),
    )
    await txn.run("DELETE FROM events WHERE group_id = ?", (group_id,))


class EventsStore:
    """Group events, and each member's answer to them."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self, draft: Draft, notice: Notice, now: int
    ) -> tuple[Event, list[Notification]] | None:
        """Store the event, and `notice` (given the new event's id) for every other accepted
        member; None when the creator is not (or no longer) an accepted member."""

        async def insert(txn: Transaction) -> tuple[Event, list[Notification]] | None:
            row = await txn.fetchone(
                "INSERT INTO events (group_id, creator_id, title, description, starts_at,"
                " created_at) SELECT group_id, user_id, ?, ?, ?, ? FROM group_members"
                " WHERE group_id = ? AND user_id = ? AND is_accepted"
                f" RETURNING {_EVENT_COLUMNS}",
                (
                    draft.title,
                    draft.description,
                    draft.starts_at,
                    now,
                    draft.group_id,
                    draft.creator_id,
                ),
            )
            if row is None:
                return None
            event = Event(**by_name(_EVENT_FIELDS, row))  # nobody has answered yet
            about = dataclasses.replace(notice, event_id=event.id)
            others = (draft.group_id, draft.creator_id)
            notified = await NotificationsStore.add_selected(
                txn, about, _OTHER_MEMBERS, others, now
            )
            return event, notified

        return await self._db.interaction("create_event", insert)

    async def get(self, event_id: int, viewer_id: int) -> Event | None:
        sql = f"{_SELECT_EVENT} WHERE e.id = ?"
        row = await read_one(self._db, "get_event", sql, (viewer_id, event_id))
        return Event.from_row(row) if row else None

    async def in_group(self, group_id: int, viewer_id: int, limit: int, offset: int) -> list[Event]:
        """A page of the group's events, soonest first (ties by id)."""
        rows = await self._db.read(
            "list_events",
            f"{_SELECT_EVENT} WHERE e.group_id = ? ORDER BY e.starts_at, e.id LIMIT ? OFFSET ?",
            (viewer_id, group_id, limit, offset),
        )
        return [Event.from_row(row) for row in rows]

    async def answer(
        self, event_id: int, user_id: int, response: str, now: int, notice: Notice | None
    ) -> list[Notification] | None:
        """Record the user's answer; None when they are not (or no longer) an accepted member of
        the event's group, or the event is gone. When the answer is new or changed, `notice` is
        stored for the event's creator if still a member (its `user_ids` are not used)."""

        async def upsert(txn: Transaction) -> list[Notification] | None:
            before = await txn.fetchone(
                "SELECT response FROM event_rsvps WHERE event_id = ? AND user_id = ?",
                (event_id, user_id),
            )
            row = await txn.fetchone(
                "INSERT INTO event_rsvps (event_id, user_id, response, updated_at)"
                " SELECT e.id, m.user_id, ?, ? FROM events e JOIN group_members m"
                " ON m.group_id = e.group_id AND m.user_id = ? AND m.is_accepted WHERE e.id = ?"
                " ON CONFLICT (event_id, user_id) DO UPDATE"
                " SET response = excluded.response, updated_at = excluded.updated_at"
                " RETURNING event_id",
                (response, now, user_id, event_id),
            )
            if row is None:
                return None
            if notice is None or (before is not None and before[0] == response):
                return []
            return await NotificationsStore.add_selected(
                txn, notice, _CREATOR_IF_MEMBER, (event_id,), now
            )

        return await self._db.interaction("answer_event", upsert)
