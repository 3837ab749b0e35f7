"""Account routes: register, login, logout, me, password change, the user's
sessions.

Each authentication event is logged at info in the namespace `socialhub.auth`, with the client's
address: never a password or a token.
"""

from __future__ import annotations

from twisted.logger import Logger

from socialhub.errors import RateLimited, SocialHubError, Unauthorized
from socialhub.handlers.accounts import Accounts, Login
from socialhub.handlers.registration import Registration
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


auth_log = Logger(namespace="socialhub.auth")


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

    @api.route("/api/auth/register", "POST", auth=False, ok=201, body=bodies.register)
    async def register(call: Call) -> Reply:
        """201 and a session; without the session when the email is verified first."""
        registration.check_open()
        registered = await registration.register(bodies.register(call.body), _client(call))
        user = registered.user
        auth_log.info(
            "registered user {user_id} from {client}", user_id=user.id, client=call.address
        )
        if registered.login is not None:
            return await signed_in(registered.login, 201)
        return Reply(body=user_object(await users.profile(user.id, user.id), user.id), status=201)

    @api.route("/api/auth/login", "POST", auth=False, body=bodies.credentials, refusals=[401])
    async def login(call: Call) -> Reply:
        credentials = bodies.credentials(call.body)
        key, client = credentials.login.casefold(), call.address  # the login limit's key
        try:
            login = await accounts.login(credentials, client, _client(call))
        except Unauthorized:
            auth_log.info("login failed for {login} from {client}", login=key, client=client)
            raise
        except RateLimited:
            auth_log.info("login locked out for {login} from {client}", login=key, client=client)
            raise
        auth_log.info("login of user {user_id} from {client}", user_id=login.user.id, client=client)
        return await signed_in(login, 200)

    @api.route("/api/auth/logout", "POST", ok=204)
    async def logout(call: Call) -> Reply:
        await accounts.logout(call.user_viewer)
        auth_log.info(
            "logout of user {user_id} from {client}",
            user_id=call.user_viewer.user.id,
            client=call.address,
        )
        return Reply(status=204, cookie=("", 0))

    @api.route("/api/auth/me", "GET")
    async def me(call: Call) -> object:
        user = call.user_viewer.user
        return user_object(await users.profile(user.id, user.id), user.id)

    @api.route("/api/auth/password", "POST", ok=204, body=bodies.change_password)
    async def change_password(call: Call) -> Reply:
        user_id = call.user_viewer.user.id
        try:
            await accounts.change_password(call.user_viewer, bodies.change_password(call.body))
        except SocialHubError as error:
            auth_log.info(
                "password change refused for user {user_id} from {client}: {code}",
                user_id=user_id,
                client=call.address,
                code=error.code,
            )
            raise
        auth_log.info(
            "password changed for user {user_id} from {client}",
            user_id=user_id,
            client=call.address,
        )
        return Reply(status=204)

    @api.route("/api/auth/sessions", "GET")
    async def list_sessions(call: Call) -> object:
        viewer = call.user_viewer
        return [session_object(s, viewer.session_id) for s in await accounts.sessions(viewer)]

    @api.route("/api/auth/sessions/<session_id>", "DELETE", ok=204)
    async def revoke_session(call: Call) -> Reply:
        session_id = parse_path_id(call.path["session_id"])
        await accounts.revoke_session(call.user_viewer, session_id)
        return Reply(status=204)
