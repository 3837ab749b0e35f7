"""User routes: profiles, search, profile edits, follows and follow requests; blocks; and
presence.

Route function names are unique across the whole Api: Klein keys its endpoints by them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from socialhub.handlers.users import Users
from socialhub.http.api import Api, Call, Reply
from socialhub.http.rest import bodies
from socialhub.http.schemas import PAGE, SEARCH, ids_param
from socialhub.http.views import follow_request_object, user_object, user_summary
from socialhub.storage.stores.follows import PENDING, Followed, Profile
from socialhub.storage.stores.users import User
from socialhub.validation import id_query, page, parse_path_id, search_text

DEFAULT_LIMIT = 20
PRESENCE_MAX_USERS = 100
NO_CONTENT = Reply(status=204)

ProfileList = Callable[[User, int, int, int], Awaitable[list[Profile]]]


def _viewer(call: Call) -> User:
    return call.user_viewer.user


def _user_id(call: Call) -> int:
    return parse_path_id(call.path["user_id"])


def _follow_reply(followed: Followed) -> Reply:
    """201 for a new follow, 202 for a new request, 200 with the current status for a repeat."""
    pending = followed.status == PENDING
    code = (202 if pending else 201) if followed.created else 200
    return Reply(body={"status": "pending" if pending else "following"}, status=code)


def _profiles(profiles: list[Profile], viewer: User) -> list[dict[str, object]]:
    return [user_object(profile, viewer.id) for profile in profiles]


def register_routes(api: Api, users: Users) -> None:
    async def listed(call: Call, lister: ProfileList) -> object:
        """A followers or following list: the path's user, a page, user objects."""
        limit, offset = page(call.query, DEFAULT_LIMIT)
        viewer = _viewer(call)
        return _profiles(await lister(viewer, _user_id(call), limit, offset), viewer)

    @api.route("/api/users", "GET", query=SEARCH)
    async def search_users(call: Call) -> object:
        limit, offset = page(call.query, DEFAULT_LIMIT)
        viewer = _viewer(call)
        found = await users.search(viewer, search_text(call.query), limit, offset)
        return _profiles(found, viewer)

    @api.route("/api/users/me", "PATCH", body=bodies.update_profile)
    async def update_me(call: Call) -> object:
        viewer = _viewer(call)
        edit = bodies.update_profile(call.body)
        return user_object(await users.update_me(viewer, edit), viewer.id)

    @api.route("/api/users/<user_id>", "GET")
    async def get_user(call: Call) -> object:
        viewer = _viewer(call)
        return user_object(await users.profile(viewer.id, _user_id(call)), viewer.id)

    @api.route("/api/users/<user_id>/follow", "POST", ok=(200, 201, 202))
    async def follow_user(call: Call) -> Reply:
        return _follow_reply(await users.follow(_viewer(call), _user_id(call)))

    @api.route("/api/users/<user_id>/follow", "DELETE", ok=204)
    async def unfollow_user(call: Call) -> Reply:
        await users.unfollow(_viewer(call), _user_id(call))
        return NO_CONTENT

    @api.route("/api/users/<user_id>/followers", "GET", query=PAGE)
    async def list_followers(call: Call) -> object:
        return await listed(call, users.followers)

    @api.route("/api/users/<user_id>/following", "GET", query=PAGE)
    async def list_following(call: Call) -> object:
        return await listed(call, users.following)

    @api.route("/api/follow-requests", "GET", query=PAGE)
    async def list_follow_requests(call: Call) -> object:
        limit, offset = page(call.query, DEFAULT_LIMIT)
        viewer = _viewer(call)
        found = await users.requests(viewer, limit, offset)
        return [follow_request_object(profile, at, viewer.id) for profile, at in found]

    @api.route("/api/follow-requests/<user_id>/accept", "POST", ok=204)
    async def accept_follow_request(call: Call) -> Reply:
        await users.accept(_viewer(call), _user_id(call))
        return NO_CONTENT

    @api.route("/api/follow-requests/<user_id>/decline", "POST", ok=204)
    async def decline_follow_request(call: Call) -> Reply:
        await users.decline(_viewer(call), _user_id(call))
        return NO_CONTENT

    @api.route("/api/users/<user_id>/block", "POST", ok=204)
    async def block_user(call: Call) -> Reply:
        await users.block(_viewer(call), _user_id(call))
        return NO_CONTENT

    @api.route("/api/users/<user_id>/block", "DELETE", ok=204)
    async def unblock_user(call: Call) -> Reply:
        await users.unblock(_viewer(call), _user_id(call))
        return NO_CONTENT

    @api.route("/api/presence", "GET", query=(ids_param("users", PRESENCE_MAX_USERS),))
    async def get_presence(call: Call) -> object:
        user_ids = id_query(call.query, "users", PRESENCE_MAX_USERS)
        statuses = await users.presence(_viewer(call), user_ids)
        return {str(user_id): status for user_id, status in statuses.items()}

    @api.route("/api/blocks", "GET", query=PAGE)
    async def list_blocks(call: Call) -> object:
        limit, offset = page(call.query, DEFAULT_LIMIT)
        return [user_summary(user) for user in await users.blocked(_viewer(call), limit, offset)]
