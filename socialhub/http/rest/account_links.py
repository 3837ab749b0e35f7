"""Routes of mailed links: password reset (by its owner or an administrator) and email
verification."""

from __future__ import annotations

from typing import Any

from socialhub.handlers.account_links import AccountLinks
from socialhub.http.api import Api, Call, Reply
from socialhub.http.rest import bodies
from socialhub.validation import parse_path_id


def register_routes(api: Api, links: AccountLinks) -> None:
    @api.route(
        "/api/auth/password-reset", "POST", auth=False, ok=202, body=bodies.password_reset_email
    )
    async def request_reset(call: Call) -> Reply:
        """202 whether or not an account has the email: nobody learns who has one."""
        links.request_reset(bodies.password_reset_email(call.body))
        return Reply(status=202)

    @api.route(
        "/api/auth/password-reset/confirm", "POST", auth=False, ok=204, body=bodies.confirm_reset
    )
    async def confirm_reset(call: Call) -> Reply:
        await links.reset_password(bodies.confirm_reset(call.body))
        return Reply(status=204)

    @api.route("/api/auth/verify-email", "POST", auth=False, ok=204, body=bodies.token)
    async def verify_email(call: Call) -> Reply:
        await links.verify_email(bodies.token(call.body))
        return Reply(status=204)

    @api.route("/api/admin/users/<user_id>/password-reset", "POST", admin=True)
    async def admin_reset(call: Call) -> dict[str, Any]:
        """`reset_url` is the link when no mail is configured (null when it was mailed)."""
        link = await links.reset_by(call.user_viewer.user.id, parse_path_id(call.path["user_id"]))
        return {"mailed": link is None, "reset_url": link}
