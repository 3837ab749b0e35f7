"""Account routes: register, login, logout, me, password change, the user's sessions."""

from __future__ import annotations

from socialhub.handlers.accounts import Accounts, Login
from socialhub.handlers.users import Users
from socialhub.http.api import Api, Call, Reply
from socialhub.http.rest import bodies
from socialhub.http.user_agent import describe
from socialhub.http.views import session_object, user_object
from socialhub.validation import parse_path_id


def _client(call: Call) -> str:
    """The description of the calling client, for the session it opens."""
    header = call.request.getHeader(b"user-agent")
    return describe(header.decode("latin-1") if header else None)


def register_routes(api: Api, accounts: Accounts, session_ttl: int, users: Users) -> None:
    async def signed_in(login: Login, status: int) -> Reply:
        profile = await users.profile(login.user.id, login.user.id)
        return Reply(
            body=user_object(profile, login.user.id),
            status=status,
            cookie=(login.token, session_ttl),
        )

    @api.route("/api/auth/register", "POST", auth=False)
    async def register(call: Call) -> Reply:
        account = bodies.register(call.body)
        return await signed_in(await accounts.register(account, _client(call)), 201)

    @api.route("/api/auth/login", "POST", auth=False)
    async def login(call: Call) -> Reply:
        credentials = bodies.credentials(call.body)
        return await signed_in(await accounts.login(credentials, call.address, _client(call)), 200)

    @api.route("/api/auth/logout", "POST")
    async def logout(call: Call) -> Reply:
        await accounts.logout(call.user_viewer)
        return Reply(status=204, cookie=("", 0))

    @api.route("/api/auth/me", "GET")
    async def me(call: Call) -> object:
        user = call.user_viewer.user
        return user_object(await users.profile(user.id, user.id), user.id)

    @api.route("/api/auth/password", "POST")
    async def change_password(call: Call) -> Reply:
        await accounts.change_password(call.user_viewer, bodies.change_password(call.body))
        return Reply(status=204)

    @api.route("/api/auth/sessions", "GET")
    async def list_sessions(call: Call) -> object:
        viewer = call.user_viewer
        return [session_object(s, viewer.session_id) for s in await accounts.sessions(viewer)]

    @api.route("/api/auth/sessions/<session_id>", "DELETE")
    async def revoke_session(call: Call) -> Reply:
        session_id = parse_path_id(call.path["session_id"])
        await accounts.revoke_session(call.user_viewer, session_id)
        return Reply(status=204)
