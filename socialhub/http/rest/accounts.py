"""Account routes: register, login, logout, me, password change."""

from __future__ import annotations

from socialhub.handlers.accounts import Accounts, Login
from socialhub.handlers.registration import Registration
from socialhub.handlers.users import Users
from socialhub.http.api import Api, Call, Reply
from socialhub.http.rest import bodies
from socialhub.http.views import user_object


def register_routes(
    api: Api, accounts: Accounts, registration: Registration, session_ttl: int, users: Users
) -> None:
    async def signed_in(login: Login, status: int) -> Reply:
        profile = await users.profile(login.user.id, login.user.id)
        return Reply(
            body=user_object(profile, login.user.id),
            status=status,
            cookie=(login.token, session_ttl),
        )

    @api.route("/api/auth/register", "POST", auth=False)
    async def register(call: Call) -> Reply:
        """201 and a session; without the session when the email is verified first."""
        registration.check_open()
        registered = await registration.register(bodies.register(call.body))
        if registered.login is not None:
            return await signed_in(registered.login, 201)
        user = registered.user
        return Reply(body=user_object(await users.profile(user.id, user.id), user.id), status=201)

    @api.route("/api/auth/login", "POST", auth=False)
    async def login(call: Call) -> Reply:
        return await signed_in(
            await accounts.login(bodies.credentials(call.body), call.address), 200
        )

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
