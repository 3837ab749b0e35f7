"""Routes of section 5: message history, newest first, with limit, offset and `before`."""

from __future__ import annotations

from collections.abc import Mapping

from socialhub.errors import InvalidRequest, NotFound
from socialhub.handlers.chat import message_frame
from socialhub.handlers.membership import Membership
from socialhub.http.api import Api, Call
from socialhub.storage.stores.messages import MessagesStore, Page
from socialhub.storage.stores.users import UsersStore
from socialhub.validation import page, parse_id

HISTORY_LIMIT = 50


def history_page(query: Mapping[str, str]) -> Page:
    limit, offset = page(query, HISTORY_LIMIT)
    before = parse_id(query["before"], "before") if "before" in query else None
    return Page(limit=limit, offset=offset, before=before)


def required_id(query: Mapping[str, str], name: str) -> int:
    if name not in query:
        raise InvalidRequest(f"the {name} query parameter is required")
    return parse_id(query[name], name)


def register_routes(
    api: Api, messages: MessagesStore, users: UsersStore, membership: Membership
) -> None:
    @api.route("/api/messages/private", "GET")
    async def private_history(call: Call) -> object:
        other = required_id(call.query, "user")
        if await users.get(other) is None:
            raise NotFound("no such user")
        cursor = history_page(call.query)  # after the 404 and 403: field errors come last
        found = await messages.private_history(call.user_viewer.user.id, other, cursor)
        return [message_frame(message) for message in found]

    @api.route("/api/messages/group", "GET")
    async def group_history(call: Call) -> object:
        group_id = required_id(call.query, "group")
        await membership.require_member(group_id, call.user_viewer.user.id)
        cursor = history_page(call.query)
        found = await messages.group_history(group_id, cursor)
        return [message_frame(message) for message in found]
