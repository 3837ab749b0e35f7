"""Event routes: a group's events, one event, and answering it.

Route function names are unique across the whole Api: Klein keys its endpoints by them.
"""

from __future__ import annotations

from socialhub.handlers.events import Events
from socialhub.http.api import Api, Call, Reply
from socialhub.http.rest import bodies
from socialhub.http.schemas import PAGE
from socialhub.http.views import event_object
from socialhub.validation import page, parse_path_id

DEFAULT_LIMIT = 20


def register_routes(api: Api, events: Events) -> None:
    @api.route("/api/groups/<group_id>/events", "POST", ok=201, body=bodies.create_event)
    async def create_event(call: Call) -> Reply:
        group_id = parse_path_id(call.path["group_id"])
        event = await events.create(call.user_viewer.user, group_id, bodies.create_event(call.body))
        return Reply(body=event_object(event), status=201)

    @api.route("/api/groups/<group_id>/events", "GET", query=PAGE)
    async def list_group_events(call: Call) -> object:
        group_id = parse_path_id(call.path["group_id"])
        limit, offset = page(call.query, DEFAULT_LIMIT)
        found = await events.in_group(call.user_viewer.user, group_id, limit, offset)
        return [event_object(event) for event in found]

    @api.route("/api/events/<event_id>", "GET")
    async def get_event(call: Call) -> object:
        event_id = parse_path_id(call.path["event_id"])
        return event_object(await events.get(call.user_viewer.user, event_id))

    @api.route("/api/events/<event_id>/rsvp", "POST", body=bodies.answer_event)
    async def answer_event(call: Call) -> object:
        event_id = parse_path_id(call.path["event_id"])
        response = await events.answer(
            call.user_viewer.user, event_id, bodies.answer_event(call.body)
        )
        return {"event_id": event_id, "response": response}
