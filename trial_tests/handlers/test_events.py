"""Group events and their notifications, end to end on both engines:
a real server, real HTTP clients, and real WebSockets for the live `notification` frames."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import TestCase

from socialhub.storage.database import Transaction
from socialhub.storage.stores.events import Draft, EventsStore
from socialhub.storage.stores.notifications import Notice, NotificationsStore
from trial_tests.support import wsclient
from trial_tests.support.groups import LAUNCH, RFC3339, Person, SocialTestMixin
from trial_tests.support.harness import PostgresEngine, SqliteEngine

EVENT_KEYS = {
    "id",
    "group_id",
    "creator_id",
    "title",
    "description",
    "starts_at",
    "created_at",
    "going_count",
    "not_going_count",
    "my_response",
}
BAD_IDS = ("999999", "abc", "0", "-1", "1.5", "99999999999999999999", "9223372036854775808")


class EventTests(SocialTestMixin):
    async def devs(self) -> tuple[list[Person], int]:
        """owner, member, invitee (pending), requester (pending), outsider; the group "Devs"."""
        people = await self.start("owner", "member", "invitee", "requester", "outsider")
        owner, member, invitee, requester, _ = people
        group_id = (await self.create_group(owner, "Devs"))["id"]
        await self.add_member(owner, group_id, member)
        self.expect(await self.invite(owner, group_id, invitee), 201)
        await self.request_to_join(requester, group_id)
        return people, group_id

    async def create_event(
        self, person: Person, group_id: int, title: str = "Launch", **fields: Any
    ) -> Any:
        body = {"title": title, "starts_at": LAUNCH, **fields}
        return self.expect(await person.client.post(f"/api/groups/{group_id}/events", body), 201)

    async def event(self, person: Person, event_id: int) -> Any:
        return self.expect(await person.client.get(f"/api/events/{event_id}"), 200)

    async def listed(self, person: Person, group_id: int, query: str = "") -> list[Any]:
        """The titles of the group's events as `person` lists them."""
        response = await person.client.get(f"/api/groups/{group_id}/events{query}")
        return [event["title"] for event in self.expect(response, 200)]

    async def rsvp(self, person: Person, event_id: int, response: Any) -> Any:
        body = {"response": response}
        return await person.client.post(f"/api/events/{event_id}/rsvp", body)

    async def answer(self, person: Person, event_id: int, response: str) -> None:
        reply = self.expect(await self.rsvp(person, event_id, response), 200)
        self.assertEqual(reply, {"event_id": event_id, "response": response})

    async def socket(self, person: Person) -> wsclient.WsClient:
        ws = await wsclient.connect(self.running.url, person.client.session_token())
        self.addCleanup(ws.close)
        return ws

    async def of_type(self, person: Person, subtype: str) -> list[Any]:
        """`person`'s stored notifications of this type, newest first."""
        return [n for n in await self.notifications(person) if n["type"] == subtype]

    async def test_create_answers_201_with_the_event(self) -> None:
        """A member creates an event: every field of the event object, nobody's answer yet, and
        GET /api/events/{id} shows the same."""
        (owner, member, *_), group_id = await self.devs()
        event = await self.create_event(member, group_id, "Launch", description="Rocket <b>")
        self.assertEqual(set(event), EVENT_KEYS)
        self.assertEqual(event["group_id"], group_id)
        self.assertEqual(event["creator_id"], member.id)
        self.assertEqual((event["title"], event["description"]), ("Launch", "Rocket <b>"))
        self.assertEqual(event["starts_at"], LAUNCH)
        self.assertRegex(event["created_at"], RFC3339)
        self.assertEqual((event["going_count"], event["not_going_count"]), (0, 0))
        self.assertIsNone(event["my_response"])
        self.assertEqual(await self.event(member, event["id"]), event)
        self.assertEqual(await self.event(owner, event["id"]), event)

    async def test_create_accepts_the_field_limits(self) -> None:
        """A 200-character title and a 2,000-character description are kept verbatim; a missing
        or null description is the empty string."""
        (owner, *_), group_id = await self.devs()
        longest = await self.create_event(owner, group_id, " " + "t" * 199, description="d" * 2000)
        self.assertEqual((longest["title"], longest["description"]), (" " + "t" * 199, "d" * 2000))
        self.assertEqual((await self.create_event(owner, group_id))["description"], "")
        plain = await self.create_event(owner, group_id, description=None)
        self.assertEqual(plain["description"], "")

    async def test_starts_at_is_stored_in_utc(self) -> None:
        """Offsets are converted to UTC, fractions of a second dropped, and `t`/`z` accepted;
        the event always renders starts_at with Z."""
        (owner, *_), group_id = await self.devs()
        for given, rendered in (
            ("2030-01-01T14:00:00+02:00", "2030-01-01T12:00:00Z"),
            ("2029-12-31T23:30:00-05:30", "2030-01-01T05:00:00Z"),
            ("2030-06-15T08:09:10.987654Z", "2030-06-15T08:09:10Z"),
            ("2030-06-15t08:09:10z", "2030-06-15T08:09:10Z"),
            ("1999-12-31T23:59:59-00:00", "1999-12-31T23:59:59Z"),
        ):
            event = await self.create_event(owner, group_id, starts_at=given)
            self.assertEqual(event["starts_at"], rendered, given)
            self.assertEqual((await self.event(owner, event["id"]))["starts_at"], rendered)

    async def test_create_refuses_invalid_fields(self) -> None:
        """A missing, empty, too long or non-string title, a bad description, and a starts_at
        that is missing or not a real RFC 3339 instant are each 400; nothing is created."""
        (owner, *_), group_id = await self.devs()
        bad_fields: list[dict[str, Any]] = [
            {"title": None},
            {"title": ""},
            {"title": "t" * 201},
            {"title": 5},
            {"title": "bad\x00title"},
            {"description": "d" * 2001},
            {"description": 7},
            {"starts_at": None},
        ]
        for starts_at in (
            "tomorrow",
            "2030-13-01T00:00:00Z",
            "2030-02-30T00:00:00Z",
            "2030-01-01T24:00:00Z",
            "2030-01-01T12:00:60Z",
            "2030-01-01T12:00:00",
            "2030-01-01 12:00:00Z",
            "2030-01-01",
            "2030-01-01T12:00:00+24:00",
            "2030-01-01T12:00:00+02:60",
            "0001-01-01T00:00:00+01:00",
            "\u0662030-01-01T12:00:00Z",
            1893499200,
        ):
            bad_fields.append({"starts_at": starts_at})
        for fields in bad_fields:
            body = {"title": "Launch", "starts_at": LAUNCH, **fields}
            body = {key: value for key, value in body.items() if value is not None}
            response = await owner.client.post(f"/api/groups/{group_id}/events", body)
            self.expect_error(response, 400, "invalid_request")
        self.assertEqual(await self.listed(owner, group_id), [])

    async def test_every_route_needs_a_session(self) -> None:
        """Without a session cookie every event route answers 401, before any 404."""
        (owner, *_), group_id = await self.devs()
        event_id = (await self.create_event(owner, group_id))["id"]
        anonymous = self.running.client()
        for method, path in (
            ("POST", f"/api/groups/{group_id}/events"),
            ("GET", f"/api/groups/{group_id}/events"),
            ("GET", f"/api/events/{event_id}"),
            ("POST", f"/api/events/{event_id}/rsvp"),
            ("GET", "/api/events/abc"),
        ):
            self.expect_error(await anonymous.request(method, path), 401, "unauthorized")

    async def test_unknown_or_invalid_ids_are_404(self) -> None:
        """An unknown group or event, or a path id that is not a valid id, is 404, even with a
        body that would be refused as invalid."""
        (owner, *_), group_id = await self.devs()
        await self.create_event(owner, group_id)
        invalid = {"title": "", "response": "maybe"}
        for bad in BAD_IDS:
            for method, path in (
                ("POST", f"/api/groups/{bad}/events"),
                ("GET", f"/api/groups/{bad}/events"),
                ("GET", f"/api/events/{bad}"),
                ("POST", f"/api/events/{bad}/rsvp"),
            ):
                response = await owner.client.request(method, path, json=invalid)
                self.expect_error(response, 404, "not_found")

    async def test_only_accepted_members_see_or_touch_events(self) -> None:
        """A pending invitee, a pending requester and an outsider get 403 on every event route,
        before their invalid bodies would be 400, and their attempts change nothing."""
        (owner, _, invitee, requester, outsider), group_id = await self.devs()
        event_id = (await self.create_event(owner, group_id))["id"]
        for person in (invitee, requester, outsider):
            for method, path, body in (
                ("POST", f"/api/groups/{group_id}/events", {"title": "X", "starts_at": LAUNCH}),
                ("POST", f"/api/groups/{group_id}/events", {"title": ""}),
                ("GET", f"/api/groups/{group_id}/events", None),
                ("GET", f"/api/events/{event_id}", None),
                ("POST", f"/api/events/{event_id}/rsvp", {"response": "going"}),
                ("POST", f"/api/events/{event_id}/rsvp", {"response": "maybe"}),
            ):
                response = await person.client.request(method, path, json=body)
                self.expect_error(response, 403, "forbidden")
        self.assertEqual(await self.listed(owner, group_id), ["Launch"])
        self.assertEqual((await self.event(owner, event_id))["going_count"], 0)

    async def test_list_is_by_start_then_id_and_paged(self) -> None:
        """Events are listed soonest first, ties by creation order, only the group's own, with
        limit (default 20, 0 gives []) and offset; bad paging parameters are 400."""
        (owner, member, *_), group_id = await self.devs()
        other_group = (await self.create_group(owner, "Other"))["id"]
        await self.create_event(owner, other_group, "elsewhere")
        for title, starts_at in (
            ("c", "2030-03-01T00:00:00Z"),
            ("a", "2030-01-01T00:00:00Z"),
            ("b1", "2030-02-01T00:00:00Z"),
            ("b2", "2030-02-01T02:00:00+02:00"),
        ):
            await self.create_event(owner, group_id, title, starts_at=starts_at)
        self.assertEqual(await self.listed(member, group_id), ["a", "b1", "b2", "c"])
        self.assertEqual(await self.listed(member, group_id, "?limit=2&offset=1"), ["b1", "b2"])
        self.assertEqual(await self.listed(member, group_id, "?limit=0"), [])
        self.assertEqual(await self.listed(member, group_id, "?offset=4"), [])
        for extra in range(20):
            await self.create_event(owner, group_id, f"z{extra}", starts_at="2031-01-01T00:00:00Z")
        self.assertEqual(len(await self.listed(member, group_id)), 20)
        for query in ("?limit=-1", "?limit=x", "?offset=-1", "?offset=1.5"):
            response = await member.client.get(f"/api/groups/{group_id}/events{query}")
            self.expect_error(response, 400, "invalid_request")

    async def test_answers_are_counted_and_can_change(self) -> None:
        """RSVPs answer 200 {event_id, response}; counts follow every answer and change of
        answer, in the event and in the list, and my_response is each viewer's own."""
        (owner, member, *_), group_id = await self.devs()
        event_id = (await self.create_event(owner, group_id))["id"]
        await self.answer(member, event_id, "going")
        await self.answer(owner, event_id, "going")
        await self.answer(member, event_id, "not_going")
        await self.answer(member, event_id, "not_going")
        for person, mine in ((owner, "going"), (member, "not_going")):
            seen = await self.event(person, event_id)
            self.assertEqual((seen["going_count"], seen["not_going_count"]), (1, 1))
            self.assertEqual(seen["my_response"], mine)
            response = await person.client.get(f"/api/groups/{group_id}/events")
            self.assertEqual(self.expect(response, 200), [seen])

    async def test_counts_are_per_event(self) -> None:
        """A page of several events carries each event's own counts and the viewer's answers."""
        (owner, member, *_), group_id = await self.devs()
        first = (await self.create_event(owner, group_id, "first"))["id"]
        second = (await self.create_event(owner, group_id, "second"))["id"]
        await self.answer(member, first, "going")
        await self.answer(owner, first, "going")
        await self.answer(member, second, "not_going")
        page = self.expect(await member.client.get(f"/api/groups/{group_id}/events"), 200)
        summary = [
            (e["title"], e["going_count"], e["not_going_count"], e["my_response"]) for e in page
        ]
        self.assertEqual(summary, [("first", 2, 0, "going"), ("second", 0, 1, "not_going")])

    async def test_invalid_responses_are_400(self) -> None:
        """Only "going" and "not_going" are answers; anything else is 400 and stores nothing."""
        (owner, member, *_), group_id = await self.devs()
        event_id = (await self.create_event(owner, group_id))["id"]
        for answer in ("maybe", "GOING", "", None, 1, True, ["going"]):
            self.expect_error(await self.rsvp(member, event_id, answer), 400, "invalid_request")
        empty = await member.client.post(f"/api/events/{event_id}/rsvp", {})
        self.expect_error(empty, 400, "invalid_request")
        self.assertIsNone((await self.event(member, event_id))["my_response"])

    async def test_answers_of_former_members_stop_counting(self) -> None:
        """Once removed, a member no longer sees the event; while they are out (or only invited
        back) their answer does not count and, as its creator, they are not told of answers;
        rejoining counts their answer again."""
        (owner, member, *_), group_id = await self.devs()
        event_id = (await self.create_event(member, group_id))["id"]
        await self.answer(member, event_id, "going")
        self.expect(
            await owner.client.request("DELETE", f"/api/groups/{group_id}/members/{member.id}"), 204
        )
        self.expect_error(await member.client.get(f"/api/events/{event_id}"), 403, "forbidden")
        self.expect_error(await self.rsvp(member, event_id, "going"), 403, "forbidden")
        self.assertEqual((await self.event(owner, event_id))["going_count"], 0)
        self.expect(await self.invite(owner, group_id, member), 201)
        await self.answer(owner, event_id, "going")
        self.assertEqual(await self.of_type(member, "event_rsvp"), [])
        self.assertEqual((await self.event(owner, event_id))["going_count"], 1)
        self.expect(await member.client.post(f"/api/groups/{group_id}/invitation/accept"), 200)
        self.assertEqual((await self.event(owner, event_id))["going_count"], 2)

    async def test_writes_recheck_membership_when_they_happen(self) -> None:
        """The store writes an event or an answer only for a member at that moment, so one
        removed after the handler's check creates nothing and answers nothing."""
        (owner, member, invitee, *_), group_id = await self.devs()
        event_id = (await self.create_event(owner, group_id))["id"]
        store = EventsStore(self.running.server.database)
        notice = Notice([], "new_event", "never stored")
        draft = Draft(group_id, invitee.id, "Sneaky", "", 0)
        self.assertIsNone(await store.create(draft, notice, 0))
        self.assertIsNone(await store.answer(event_id, invitee.id, "going", 0, None))
        self.assertEqual(await self.listed(owner, group_id), ["Launch"])
        self.assertEqual((await self.event(owner, event_id))["going_count"], 0)
        self.assertEqual(await store.answer(event_id, member.id, "going", 0, None), [])

    async def test_new_event_notifies_every_other_accepted_member(self) -> None:
        """new_event is stored for each other accepted member, naming the creator, the event and
        the group; pending invitees, requesters and outsiders get none."""
        (owner, member, invitee, requester, outsider), group_id = await self.devs()
        event = await self.create_event(member, group_id, "Launch")
        (notice,) = await self.of_type(owner, "new_event")
        self.assertEqual(notice["message"], "member created the event 'Launch' in group 'Devs'")
        self.assertEqual(
            (notice["actor_id"], notice["group_id"], notice["event_id"]),
            (member.id, group_id, event["id"]),
        )
        self.assertFalse(notice["is_read"])
        self.assertRegex(notice["created_at"], RFC3339)
        for person in (member, invitee, requester, outsider):
            self.assertEqual(await self.of_type(person, "new_event"), [], person.username)

    async def test_new_event_arrives_live_and_not_to_its_creator(self) -> None:
        """The other members' sockets get the stored new_event as a notification frame; the
        creator's socket gets none (its next notification is a later event_rsvp)."""
        (owner, member, *_), group_id = await self.devs()
        owner_ws, member_ws = await self.socket(owner), await self.socket(member)
        event_id = (await self.create_event(owner, group_id, "Launch"))["id"]
        frame = await member_ws.next_of("notification")
        (stored,) = await self.of_type(member, "new_event")
        self.assertEqual(frame["id"], stored["id"])
        self.assertEqual(frame["subtype"], "new_event")
        self.assertEqual(frame["message"], stored["message"])
        self.assertEqual((frame["group_id"], frame["event_id"]), (group_id, event_id))
        self.assertEqual(frame["actor_id"], owner.id)
        self.assertIsInstance(frame["timestamp"], int)
        await self.answer(member, event_id, "going")
        self.assertEqual((await owner_ws.next_of("notification"))["subtype"], "event_rsvp")

    async def test_rsvp_notifies_the_creator_of_new_and_changed_answers(self) -> None:
        """event_rsvp reaches the creator, stored and live, for a first answer and a change; a
        resent answer and the creator's own answers notify nobody."""
        (owner, member, *_), group_id = await self.devs()
        event_id = (await self.create_event(owner, group_id, "Launch"))["id"]
        owner_ws = await self.socket(owner)
        for response in ("going", "going", "not_going"):
            await self.answer(member, event_id, response)
        await self.answer(owner, event_id, "going")
        live = [await owner_ws.next_of("notification") for _ in range(2)]
        self.assertEqual(
            [frame["message"] for frame in live],
            [
                "member is going to your event 'Launch'",
                "member is not going to your event 'Launch'",
            ],
        )
        stored = await self.of_type(owner, "event_rsvp")
        self.assertEqual([n["id"] for n in stored], [frame["id"] for frame in reversed(live)])
        for notice in stored:
            self.assertEqual(
                (notice["actor_id"], notice["group_id"], notice["event_id"]),
                (member.id, group_id, event_id),
            )
        self.assertEqual(await self.of_type(member, "event_rsvp"), [])

    async def test_deleting_the_group_deletes_its_events_and_their_notifications(self) -> None:
        """After DELETE /api/groups/{id} its events are 404 and no notification about them is
        left, even one that names only the event; another group's event and notices stay."""
        (owner, member, *_), group_id = await self.devs()
        event_id = (await self.create_event(member, group_id))["id"]
        await self.answer(owner, event_id, "going")
        await self.store_notice_naming_only(member, event_id)
        kept_group = (await self.create_group(owner, "Kept"))["id"]
        await self.add_member(owner, kept_group, member)
        kept_event = (await self.create_event(owner, kept_group, "Stays"))["id"]
        self.expect(await owner.client.request("DELETE", f"/api/groups/{group_id}"), 204)
        for person in (owner, member):
            self.expect_error(await person.client.get(f"/api/events/{event_id}"), 404, "not_found")
            about = [n.get("event_id") for n in await self.notifications(person)]
            self.assertNotIn(event_id, about, person.username)
        self.assertEqual((await self.event(member, kept_event))["title"], "Stays")
        (kept,) = await self.of_type(member, "new_event")
        self.assertEqual(kept["event_id"], kept_event)

    async def store_notice_naming_only(self, person: Person, event_id: int) -> None:
        """Store a notification for `person` that refers to the event but to no group, so only
        the event's own clean-up, not the group's cascade, can remove it."""
        notice = Notice([person.id], "event_rsvp", "about the event only", event_id=event_id)

        async def add(txn: Transaction) -> None:
            await NotificationsStore.add(txn, notice, 0)

        await self.running.server.database.interaction("test_notice", add)
        self.assertIn(event_id, [n.get("event_id") for n in await self.notifications(person)])


class EventSqliteTests(SqliteEngine, EventTests, TestCase):
    pass


class EventPostgresTests(PostgresEngine, EventTests, TestCase):
    pass
