"""Notification routes: the viewer's notifications, marking them read, the unread count."""

from __future__ import annotations

from socialhub.handlers.notifications import Notifications
from socialhub.http.api import Api, Call, Reply
from socialhub.http.rest import bodies
from socialhub.http.schemas import PAGE
from socialhub.http.views import notification_object
from socialhub.validation import page

DEFAULT_LIMIT = 20


def register_routes(api: Api, notifications: Notifications) -> None:
    @api.route("/api/notifications", "GET", query=PAGE)
    async def list_notifications(call: Call) -> object:
        limit, offset = page(call.query, DEFAULT_LIMIT)
        found = await notifications.page(call.user_viewer.user.id, limit, offset)
        return [notification_object(notification) for notification in found]

    @api.route("/api/notifications/read", "POST", ok=204, body=bodies.mark_read)
    async def mark_notifications_read(call: Call) -> Reply:
        await notifications.mark_read(call.user_viewer.user.id, bodies.mark_read(call.body))
        return Reply(status=204)

    @api.route("/api/notifications/unread_count", "GET")
    async def count_unread_notifications(call: Call) -> object:
        return {"count": await notifications.unread_count(call.user_viewer.user.id)}
