"""Message routes: message history, newest first, with limit, offset and `before`."""

from __future__ import annotations

from collections.abc import Mapping

from socialhub.delivery.frames import history_item
from socialhub.errors import InvalidRequest
from socialhub.handlers.commands import GroupHistory, HistoryPage, Paging, PrivateHistory
from socialhub.handlers.history import History
from socialhub.http.api import Api, Call
from socialhub.http.schemas import PAGE, Param, id_param
from socialhub.validation import page, parse_id

HISTORY_LIMIT = 50


def paging(query: Mapping[str, str]) -> Paging:
    """limit, offset and before; a bad one is kept, for the handler to raise after its check."""
    try:
        limit, offset = page(query, HISTORY_LIMIT)
        before = parse_id(query["before"], "before") if "before" in query else None
    except InvalidRequest as error:
        return error
    return HistoryPage(limit=limit, offset=offset, before=before)


def history_query(name: str) -> tuple[Param, ...]:
    """The query of a history page: whose conversation (`name`), and the page."""
    return (id_param(name, required=True), id_param("before"), *PAGE)


def required_id(query: Mapping[str, str], name: str) -> int:
    if name not in query:
        raise InvalidRequest(f"the {name} query parameter is required")
    return parse_id(query[name], name)


def register_routes(api: Api, history: History) -> None:
    @api.route("/api/messages/private", "GET", query=history_query("user"))
    async def private_history(call: Call) -> object:
        query = PrivateHistory(required_id(call.query, "user"), paging(call.query))
        found = await history.private(call.user_viewer, query)
        return [history_item(message, reactions) for message, reactions in found]

    @api.route("/api/messages/group", "GET", query=history_query("group"))
    async def group_history(call: Call) -> object:
        query = GroupHistory(required_id(call.query, "group"), paging(call.query))
        found = await history.group(call.user_viewer, query)
        return [history_item(message, reactions) for message, reactions in found]
