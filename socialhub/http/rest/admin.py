"""The administration routes, /api/admin: accounts, content, reports and the audit log.

Every route is registered with `admin=True`: the Api lets only administrators reach it (401
without a session, 403 for anyone else) before it runs. Route function names are unique across
the whole Api: Klein keys its endpoints by them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from socialhub.handlers.account_deletion import AccountDeletion
from socialhub.handlers.administration import Administration
from socialhub.http import schemas
from socialhub.http.api import Api, Call, Reply
from socialhub.http.rest import bodies
from socialhub.http.schemas import PAGE, SEARCH, Param, id_param
from socialhub.http.views import account_object, audit_object, report_object
from socialhub.storage.stores.reports import OPEN, RESOLVED
from socialhub.validation import choice, page, parse_id, parse_path_id, search_text

DEFAULT_LIMIT = 50
NO_CONTENT = Reply(status=204)
STATUS = Param("status", schemas.choice((OPEN, RESOLVED)))

Action = Callable[[int | None, int], Awaitable[None]]


def _actor(call: Call) -> int:
    return call.user_viewer.user.id


def _status(call: Call) -> str:
    return choice(
        call.query.get("status", OPEN), (OPEN, RESOLVED), "status must be open or resolved"
    )


def _before(call: Call) -> int | None:
    """The audit log's `before`: an entry id, the page then holds older entries only."""
    before = call.query.get("before")
    return None if before is None else parse_id(before, "before")


def register_routes(
    api: Api, administration: Administration, account_deletion: AccountDeletion
) -> None:
    def on_path(path: str, method: str, action: Action) -> None:
        """A route that applies `action` to the resource whose id is in the path: 204."""

        async def act(call: Call) -> Reply:
            await action(_actor(call), parse_path_id(call.path["target_id"]))
            return NO_CONTENT

        api.route(path, method, admin=True, ok=204)(act)

    @api.route("/api/admin/users", "GET", admin=True, query=SEARCH)
    async def admin_list_users(call: Call) -> object:
        limit, offset = page(call.query, DEFAULT_LIMIT)
        found = await administration.accounts(search_text(call.query), limit, offset)
        return [account_object(account.user, account.last_seen) for account in found]

    @api.route("/api/admin/users", "POST", admin=True, ok=201, body=bodies.create_account)
    async def admin_create_user(call: Call) -> Reply:
        new = bodies.create_account(call.body)
        user = await administration.create_account(_actor(call), new)
        return Reply(body=account_object(user), status=201)

    users = "/api/admin/users/<target_id>"
    on_path(users, "DELETE", _deleting(account_deletion))
    on_path(f"{users}/deactivate", "POST", administration.deactivate)
    on_path(f"{users}/reactivate", "POST", administration.reactivate)
    on_path(f"{users}/sessions/revoke", "POST", administration.revoke_sessions)
    on_path(f"{users}/admin", "POST", _granting(administration, True))
    on_path(f"{users}/admin", "DELETE", _granting(administration, False))
    on_path("/api/admin/posts/<target_id>", "DELETE", administration.delete_post)
    on_path("/api/admin/comments/<target_id>", "DELETE", administration.delete_comment)
    on_path("/api/admin/messages/<target_id>", "DELETE", administration.delete_message)
    on_path("/api/admin/groups/<target_id>", "DELETE", administration.delete_group)

    @api.route("/api/admin/reports", "GET", admin=True, query=(STATUS, *PAGE))
    async def admin_list_reports(call: Call) -> object:
        status = _status(call)
        limit, offset = page(call.query, DEFAULT_LIMIT)
        return [
            report_object(report) for report in await administration.reports(status, limit, offset)
        ]

    @api.route(
        "/api/admin/reports/<report_id>/resolve", "POST", admin=True, body=bodies.resolution_note
    )
    async def admin_resolve_report(call: Call) -> object:
        report_id = parse_path_id(call.path["report_id"])
        note = bodies.resolution_note(call.body)
        return report_object(await administration.resolve_report(_actor(call), report_id, note))

    @api.route("/api/admin/audit", "GET", admin=True, query=(*PAGE, id_param("before")))
    async def admin_audit_log(call: Call) -> object:
        limit, _ = page(call.query, DEFAULT_LIMIT)
        return [
            audit_object(entry) for entry in await administration.audit_log(limit, _before(call))
        ]


def _granting(administration: Administration, is_admin: bool) -> Action:
    async def grant(actor_id: int | None, user_id: int) -> None:
        await administration.set_admin(actor_id, user_id, is_admin)

    return grant


def _deleting(account_deletion: AccountDeletion) -> Action:
    async def delete(actor_id: int | None, user_id: int) -> None:
        await account_deletion.delete_account(user_id, actor=actor_id)

    return delete
