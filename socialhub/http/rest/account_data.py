"""The routes of a user's own data: exporting it, and deleting the account."""

from __future__ import annotations

from socialhub.handlers.account_deletion import AccountDeletion
from socialhub.handlers.account_export import AccountExport
from socialhub.http.api import Api, Call, Reply
from socialhub.http.rest import bodies
from socialhub.http.views import export_document


def register_routes(api: Api, export: AccountExport, deletion: AccountDeletion) -> None:
    @api.route("/api/users/me/export", "GET")
    async def export_me(call: Call) -> Reply:
        document = export_document(await export.export(call.user_viewer))
        disposition = 'attachment; filename="socialhub-export.json"'
        return Reply(body=document, headers={"Content-Disposition": disposition})

    @api.route("/api/users/me", "DELETE", ok=204, body=bodies.confirm_password)
    async def delete_me(call: Call) -> Reply:
        await deletion.delete_own(call.user_viewer, bodies.confirm_password(call.body))
        return Reply(status=204, cookie=("", 0))
