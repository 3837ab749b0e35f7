"""Registration routes: which mode is on, and the administrators' registration tokens."""

from __future__ import annotations

from typing import Any

from socialhub.handlers.registration import Registration
from socialhub.http.api import Api, Call, Reply
from socialhub.http.rest import bodies
from socialhub.http.views import registration_token_object
from socialhub.validation import parse_path_id


def register_routes(api: Api, registration: Registration) -> None:
    @api.route("/api/auth/registration", "GET", auth=False)
    async def describe(call: Call) -> dict[str, Any]:
        settings = registration.settings
        return {
            "mode": settings.mode,
            "email_verification": settings.require_verification,
            "password_reset": registration.password_reset,
        }

    @api.route(
        "/api/admin/registration-tokens",
        "POST",
        admin=True,
        ok=201,
        body=bodies.create_registration_token,
    )
    async def create_token(call: Call) -> Reply:
        command = bodies.create_registration_token(call.body)
        made = await registration.make_token(command, call.user_viewer.user.id)
        return Reply(body=registration_token_object(made.stored, made.token), status=201)

    @api.route("/api/admin/registration-tokens", "GET", admin=True)
    async def list_tokens(call: Call) -> list[dict[str, Any]]:
        tokens = await registration.tokens()
        return [registration_token_object(token) for token in tokens]

    @api.route("/api/admin/registration-tokens/<token_id>", "DELETE", admin=True, ok=204)
    async def delete_token(call: Call) -> Reply:
        token_id = parse_path_id(call.path["token_id"])
        await registration.remove_token(token_id, call.user_viewer.user.id)
        return Reply(status=204)
