"""Accounts and sessions: registering, logging in and out, changing a password, who is calling."""

from __future__ import annotations

from dataclasses import dataclass

from twisted.internet.interfaces import IReactorTime

from socialhub.auth.login_limiter import LoginLimiter
from socialhub.auth.passwords import PasswordHasher
from socialhub.auth.tokens import new_token, token_hash
from socialhub.delivery.interface import Delivery
from socialhub.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized
from socialhub.handlers.commands import ChangePassword, Credentials, Register
from socialhub.storage.stores.sessions import SessionsStore
from socialhub.storage.stores.users import User, UsersStore, username_key

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
        admins: frozenset[str],
        session_ttl: int,
        delivery: Delivery,
    ) -> None:
        self._clock = clock
        self._users = users
        self._sessions = sessions
        self._hasher = hasher
        # Keyed like usernames: --admin Alice applies to the account registered as "alice".
        self._admins = frozenset(username_key(name) for name in admins)
        self._session_ttl = session_ttl
        self._delivery = delivery
        self._limiter = LoginLimiter(clock)

    async def close_revoked_sessions(self) -> None:
        """Close this process's connections whose session no longer exists (4001): after a
        bus outage, a logout or a password change elsewhere could not reach them."""
        open_sessions = self._delivery.open_sessions()
        ids = sorted({session for sessions in open_sessions.values() for session in sessions})
        live = await self._sessions.live(ids)
        for user_id, sessions in open_sessions.items():
            revoked = sessions - live
            if revoked:
                self._delivery.close_sessions(user_id, revoked, *SESSION_REVOKED)

    def _now(self) -> int:
        return int(self._clock.seconds())

    async def register(self, account: Register) -> Login:
        is_admin = username_key(account.username) in self._admins
        return await self._open_session(await self.create(account, is_admin))

    async def create(self, account: Register, is_admin: bool) -> User:
        """The account, without a session: registration's, and the admin tool's."""
        password_hash = await self._hasher.hash(account.password)
        user = await self._users.create(
            account.username,
            account.email,
            password_hash,
            account.display_name,
            is_admin=is_admin,
            now=self._now(),
        )
        if user is None:
            raise Conflict("username or email is already taken")
        return user

    async def set_admin(self, username: str, is_admin: bool) -> User:
        """Give or take the administrator role (the admin tool's grant-admin, revoke-admin)."""
        user = await self._users.set_admin(username, is_admin)
        if user is None:
            raise NotFound(f"no user is named {username!r}")
        return user

    async def login(self, credentials: Credentials, address: str) -> Login:
        login, password = credentials.login, credentials.password
        key = (login.casefold(), address)
        retry_after = self._limiter.retry_after(key)
        if retry_after is not None:
            raise RateLimited("too many failed logins; try again later", retry_after)
        found = await self._users.credentials(login)
        stored_hash = found[1] if found else None
        if found is None or not await self._hasher.verify(stored_hash, password):
            self._limiter.record_failure(key)
            raise Unauthorized("wrong username, email or password")
        self._limiter.reset(key)
        user, stored = found
        if self._hasher.needs_rehash(stored):
            await self._users.set_password_hash(user.id, await self._hasher.hash(password))
        return await self._open_session(user)

    async def authenticate(self, token: str | None) -> Viewer | None:
        """The viewer a session token belongs to, or None when it is missing, unknown or expired."""
        if not token:
            return None
        found = await self._sessions.lookup(token_hash(token), self._now(), self._session_ttl)
        return Viewer(user=found[1], session_id=found[0]) if found else None

    async def logout(self, viewer: Viewer) -> None:
        await self._sessions.revoke(viewer.session_id)
        self._delivery.close_sessions(viewer.user.id, [viewer.session_id], *SESSION_REVOKED)

    async def change_password(self, viewer: Viewer, change: ChangePassword) -> None:
        stored = await self._users.password_hash(viewer.user.id)
        if not await self._hasher.verify(stored, change.old_password):
            raise Forbidden("old_password is wrong")
        new_hash = await self._hasher.hash(change.new_password)
        await self._users.set_password_hash(viewer.user.id, new_hash)
        revoked = await self._sessions.revoke_others(viewer.user.id, viewer.session_id)
        self._delivery.close_sessions(viewer.user.id, revoked, *SESSION_REVOKED)

    async def _open_session(self, user: User) -> Login:
        token = new_token()
        await self._sessions.create(user.id, token_hash(token), self._now())
        return Login(user=user, token=token)
