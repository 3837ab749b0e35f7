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

    @api.route("/api/admin/registration-tokens", "POST")
    async def create_token(call: Call) -> Reply:
        made = await registration.create_token(
            call.user_viewer, bodies.create_registration_token(call.body)
        )
        return Reply(body=registration_token_object(made.stored, made.token), status=201)

    @api.route("/api/admin/registration-tokens", "GET")
    async def list_tokens(call: Call) -> list[dict[str, Any]]:
        tokens = await registration.list_tokens(call.user_viewer)
        return [registration_token_object(token) for token in tokens]

    @api.route("/api/admin/registration-tokens/<token_id>", "DELETE")
    async def delete_token(call: Call) -> Reply:
        await registration.delete_token(call.user_viewer, parse_path_id(call.path["token_id"]))
        return Reply(status=204)
