"""Conversation routes: the viewer's conversations, their unread total, marking one read."""

from __future__ import annotations

from socialhub.handlers.conversations import Conversations
from socialhub.http.api import Api, Call, Reply
from socialhub.http.rest import bodies
from socialhub.http.schemas import PAGE
from socialhub.http.views import conversation_object
from socialhub.validation import page

DEFAULT_LIMIT = 20


def register_routes(api: Api, conversations: Conversations) -> None:
    @api.route("/api/conversations", "GET", query=PAGE)
    async def list_conversations(call: Call) -> object:
        limit, offset = page(call.query, DEFAULT_LIMIT)
        found = await conversations.page(call.user_viewer.user, limit, offset)
        return [conversation_object(conversation) for conversation in found]

    @api.route("/api/conversations/unread", "GET")
    async def count_unread_messages(call: Call) -> object:
        messages, with_unread = await conversations.unread(call.user_viewer.user)
        return {"messages": messages, "conversations": with_unread}

    @api.route("/api/conversations/read", "POST", ok=204, body=bodies.read_conversation)
    async def mark_conversation_read(call: Call) -> Reply:
        command = bodies.read_conversation(call.body)
        await conversations.read(call.user_viewer.user, command)
        return Reply(status=204)
