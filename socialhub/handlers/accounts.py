"""Accounts and sessions: logging in and out, changing a password, who is calling (registering
is handlers/registration.py's)."""

from __future__ import annotations

from dataclasses import dataclass

from twisted.internet.interfaces import IReactorTime

from socialhub.auth.login_limiter import LoginLimiter
from socialhub.auth.passwords import PasswordHasher
from socialhub.auth.tokens import new_token, token_hash
from socialhub.delivery.interface import Delivery
from socialhub.errors import (
    AccountDisabled,
    EmailNotVerified,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
)
from socialhub.handlers.commands import ChangePassword, Credentials
from socialhub.storage.stores.sessions import Session, SessionsStore
from socialhub.storage.stores.users import User, UsersStore

# How the open connections of a revoked session are closed (docs/api/websocket.md).
SESSION_REVOKED = (4001, "session revoked")


@dataclass(frozen=True)
class Viewer:
    """The authenticated caller of a request or owner of a WebSocket: a user and a session."""

    user: User
    session_id: int


@dataclass(frozen=True)
class Login:
    """A session just opened: the user and the token for their cookie."""

    user: User
    token: str


class Accounts:
    """The rules of accounts and sessions (docs/api/rest.md)."""

    def __init__(
        self,
        clock: IReactorTime,
        users: UsersStore,
        sessions: SessionsStore,
        hasher: PasswordHasher,
        session_ttl: int,
        delivery: Delivery,
        require_verification: bool = False,
    ) -> None:
        self._clock = clock
        self._users = users
        self._sessions = sessions
        self._hasher = hasher
        self._session_ttl = session_ttl
        self._require_verification = require_verification
        self._delivery = delivery
        self._limiter = LoginLimiter(clock)

    async def close_revoked_sessions(self) -> None:
        """Close this process's connections whose session no longer exists (4001): a logout
        or a password change elsewhere during a bus outage, or socialhub-admin's change (it
        has no bus), could not reach them. One query per thousand open sessions."""
        open_sessions = self._delivery.open_sessions()
        ids = sorted({session for sessions in open_sessions.values() for session in sessions})
        live = await self._sessions.live(ids)
        for user_id, sessions in open_sessions.items():
            revoked = sessions - live
            if revoked:
                self._delivery.close_sessions(user_id, revoked, *SESSION_REVOKED)

    def _now(self) -> int:
        return int(self._clock.seconds())

    async def login(self, credentials: Credentials, address: str, client: str) -> Login:
        login, password = credentials.login, credentials.password
        key = (login.casefold(), address)
        retry_after = self._limiter.attempt(key)
        if retry_after is not None:
            raise RateLimited("too many failed logins; try again later", retry_after)
        found = await self._users.credentials(login)
        stored_hash = found.password_hash if found else None
        if found is None or not await self._hasher.verify(stored_hash, password):
            raise Unauthorized("wrong username, email or password")
        self._limiter.reset(key)
        user, stored, awaiting_verification = found
        if not user.is_active:  # told only to whom knows the password
            raise AccountDisabled("this account has been deactivated by an administrator")
        if awaiting_verification and self._require_verification:
            raise EmailNotVerified("follow the link mailed to your address before logging in")
        if self._hasher.needs_rehash(stored):
            await self._users.set_password_hash(user.id, await self._hasher.hash(password))
        return await self.open_session(user, client)

    async def named(self, username: str) -> User:
        """The user named `username` (any case), for the operator's tool; 404 without one."""
        user = await self._users.by_username(username)
        if user is None:
            raise NotFound(f"no user is named {username!r}")
        return user

    async def authenticate(self, token: str | None) -> Viewer | None:
        """The viewer a session token belongs to, or None when it is missing, unknown or expired."""
        if not token:
            return None
        found = await self._sessions.lookup(token_hash(token), self._now(), self._session_ttl)
        return Viewer(user=found[1], session_id=found[0]) if found else None

    async def logout(self, viewer: Viewer) -> None:
        await self._sessions.revoke(viewer.session_id)
        self._delivery.close_sessions(viewer.user.id, [viewer.session_id], *SESSION_REVOKED)

    async def sessions(self, viewer: Viewer) -> list[Session]:
        """The viewer's sessions, newest first."""
        return await self._sessions.of_user(viewer.user.id)

    async def revoke_session(self, viewer: Viewer, session_id: int) -> None:
        """Revoke one of the viewer's own sessions (404 for any other id) and close its sockets
        on every process, as a logout of that session would."""
        if not await self._sessions.revoke_own(viewer.user.id, session_id):
            raise NotFound("no such session")
        self._delivery.close_sessions(viewer.user.id, [session_id], *SESSION_REVOKED)

    async def confirm_password(self, user_id: int, password: str, field: str) -> None:
        """An action that asks for the password again goes on only with the right one: 403
        naming the body's `field` otherwise."""
        stored = await self._users.password_hash(user_id)
        if not await self._hasher.verify(stored, password):
            raise Forbidden(f"{field} is wrong")

    async def change_password(self, viewer: Viewer, change: ChangePassword) -> None:
        await self.confirm_password(viewer.user.id, change.old_password, "old_password")
        new_hash = await self._hasher.hash(change.new_password)
        await self._users.set_password_hash(viewer.user.id, new_hash)
        revoked = await self._sessions.revoke_others(viewer.user.id, viewer.session_id)
        self._delivery.close_sessions(viewer.user.id, revoked, *SESSION_REVOKED)

    async def open_session(self, user: User, client: str) -> Login:
        """A new session for `client` (a description of its User-Agent)."""
        token = new_token()
        await self._sessions.create(user.id, token_hash(token), self._now(), client)
        return Login(user=user, token=token)
