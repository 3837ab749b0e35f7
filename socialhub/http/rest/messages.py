"""Routes of section 5: message history, newest first, with limit, offset and `before`."""

from __future__ import annotations

from collections.abc import Mapping

from socialhub.delivery.frames import message_frame
from socialhub.errors import InvalidRequest
from socialhub.handlers.membership import Membership
from socialhub.handlers.policy import Policy
from socialhub.http.api import Api, Call
from socialhub.storage.database import Guard
from socialhub.storage.stores.messages import MessagesStore, Page
from socialhub.validation import page, parse_id

HISTORY_LIMIT = 50


async def history_page(query: Mapping[str, str], messages: MessagesStore, guard: Guard) -> Page:
    """limit, offset and before; when one is bad, the guard's 404 or 403 still comes first.

    The guard normally runs just before the page, after these fields are parsed, so only a
    request with a bad field pays for a read of the guard alone.
    """
    try:
        limit, offset = page(query, HISTORY_LIMIT)
        before = parse_id(query["before"], "before") if "before" in query else None
    except InvalidRequest:
        await messages.check(guard)
        raise
    return Page(limit=limit, offset=offset, before=before)


def required_id(query: Mapping[str, str], name: str) -> int:
    if name not in query:
        raise InvalidRequest(f"the {name} query parameter is required")
    return parse_id(query[name], name)


def register_routes(
    api: Api, messages: MessagesStore, policy: Policy, membership: Membership
) -> None:
    @api.route("/api/messages/private", "GET")
    async def private_history(call: Call) -> object:
        other = required_id(call.query, "user")
        guard = policy.conversation_guard(other)
        cursor = await history_page(call.query, messages, guard)
        found = await messages.private_history(call.user_viewer.user.id, other, cursor, guard)
        return [message_frame(message) for message in found]

    @api.route("/api/messages/group", "GET")
    async def group_history(call: Call) -> object:
        group_id = required_id(call.query, "group")
        guard = membership.member_guard(group_id, call.user_viewer.user.id)
        cursor = await history_page(call.query, messages, guard)
        found = await messages.group_history(group_id, cursor, guard)
        return [message_frame(message) for message in found]
