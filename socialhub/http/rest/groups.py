"""Group routes: groups and their memberships (events come with their own module).

Route function names are unique across the whole Api: Klein keys its endpoints by them.
"""

from __future__ import annotations

from socialhub.handlers.groups import Groups
from socialhub.http.api import Api, Call, Reply
from socialhub.http.rest import bodies
from socialhub.http.schemas import PAGE, SEARCH
from socialhub.http.views import group_object, join_request_object, user_summary
from socialhub.storage.stores.groups import INVITED, REQUESTED
from socialhub.storage.stores.users import User
from socialhub.validation import page, parse_path_id, search_text

DEFAULT_LIMIT = 20
NO_CONTENT = Reply(status=204)


def _viewer(call: Call) -> User:
    return call.user_viewer.user


def _group_id(call: Call) -> int:
    return parse_path_id(call.path["group_id"])


def _user_id(call: Call) -> int:
    return parse_path_id(call.path["user_id"])


def register_routes(api: Api, groups: Groups) -> None:
    @api.route("/api/groups", "POST", ok=201, body=bodies.create_group)
    async def create_group(call: Call) -> Reply:
        group = await groups.create(_viewer(call), bodies.create_group(call.body))
        return Reply(body=group_object(group, group.owner_id), status=201)

    @api.route("/api/groups", "GET", query=SEARCH)
    async def search_groups(call: Call) -> object:
        limit, offset = page(call.query, DEFAULT_LIMIT)
        viewer = _viewer(call)
        found = await groups.search(viewer, search_text(call.query), limit, offset)
        return [group_object(group, viewer.id) for group in found]

    @api.route("/api/groups/invite", "POST", ok=(200, 201), body=bodies.invite)
    async def invite_to_group(call: Call) -> Reply:
        invitation = await groups.invite(_viewer(call), bodies.invite(call.body))
        body = {
            "group_id": invitation.group_id,
            "user_id": invitation.user_id,
            "status": invitation.status,
        }
        return Reply(body=body, status=201 if invitation.status == INVITED else 200)

    @api.route("/api/groups/<group_id>", "GET")
    async def get_group(call: Call) -> object:
        viewer = _viewer(call)
        return group_object(await groups.get(viewer, _group_id(call)), viewer.id)

    @api.route("/api/groups/<group_id>", "PATCH", body=bodies.update_group)
    async def update_group(call: Call) -> object:
        viewer = _viewer(call)
        edit = bodies.update_group(call.body)
        return group_object(await groups.update(viewer, _group_id(call), edit), viewer.id)

    @api.route("/api/groups/<group_id>", "DELETE", ok=204)
    async def delete_group(call: Call) -> Reply:
        await groups.delete(_viewer(call), _group_id(call))
        return NO_CONTENT

    @api.route("/api/groups/<group_id>/members", "GET", query=PAGE)
    async def list_group_members(call: Call) -> object:
        limit, offset = page(call.query, DEFAULT_LIMIT)
        members = await groups.members(_viewer(call), _group_id(call), limit, offset)
        return [user_summary(user) for user in members]

    @api.route("/api/groups/<group_id>/members/<user_id>", "DELETE", ok=204)
    async def remove_group_member(call: Call) -> Reply:
        await groups.remove_member(_viewer(call), _group_id(call), _user_id(call))
        return NO_CONTENT

    @api.route("/api/groups/<group_id>/join", "POST", ok=(200, 202))
    async def join_group(call: Call) -> Reply:
        status = await groups.join(_viewer(call), _group_id(call))
        return Reply(body={"status": status}, status=202 if status == REQUESTED else 200)

    @api.route("/api/groups/<group_id>/leave", "POST", ok=204)
    async def leave_group(call: Call) -> Reply:
        await groups.leave(_viewer(call), _group_id(call))
        return NO_CONTENT

    @api.route("/api/groups/<group_id>/requests", "GET", query=PAGE)
    async def list_join_requests(call: Call) -> object:
        limit, offset = page(call.query, DEFAULT_LIMIT)
        found = await groups.join_requests(_viewer(call), _group_id(call), limit, offset)
        return [join_request_object(user, requested_at) for user, requested_at in found]

    @api.route("/api/groups/<group_id>/requests/<user_id>/accept", "POST", ok=204)
    async def accept_join_request(call: Call) -> Reply:
        await groups.accept_request(_viewer(call), _group_id(call), _user_id(call))
        return NO_CONTENT

    @api.route("/api/groups/<group_id>/requests/<user_id>/decline", "POST", ok=204)
    async def decline_join_request(call: Call) -> Reply:
        await groups.decline_request(_viewer(call), _group_id(call), _user_id(call))
        return NO_CONTENT

    @api.route("/api/groups/<group_id>/invitation/accept", "POST")
    async def accept_group_invitation(call: Call) -> object:
        await groups.accept_invitation(_viewer(call), _group_id(call))
        return {"status": "member"}

    @api.route("/api/groups/<group_id>/invitation/decline", "POST", ok=204)
    async def decline_group_invitation(call: Call) -> Reply:
        await groups.decline_invitation(_viewer(call), _group_id(call))
        return NO_CONTENT
