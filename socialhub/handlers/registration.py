"""Registering: who may (`--registration open|token|closed`), the registration tokens
administrators make, and the account's creation (with its first verification link when
`--require-email-verification` is on).

A token's use is counted in the transaction that creates the account (UsersStore.create), so
two registrations racing for a token's last use cannot both have it.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.internet.interfaces import IReactorTime

from socialhub.auth.passwords import PasswordHasher
from socialhub.auth.tokens import new_token, token_hash
from socialhub.errors import (
    Conflict,
    InvalidRegistrationToken,
    InvalidRequest,
    NotFound,
    RegistrationClosed,
)
from socialhub.handlers.account_links import AccountLinks
from socialhub.handlers.accounts import Accounts, Login
from socialhub.handlers.commands import (
    CreateRegistrationToken,
    Register,
)
from socialhub.storage.stores.audit import AuditEntry
from socialhub.storage.stores.registration_tokens import (
    RegistrationToken,
    RegistrationTokenRefused,
    RegistrationTokensStore,
)
from socialhub.storage.stores.users import Admission, NewAccount, User, UsersStore, username_key

# The --registration modes this module acts on ("open" lets anyone register).
TOKEN, CLOSED = "token", "closed"
TARGET_KIND = "registration_token"  # an audit entry's target kind


@dataclass(frozen=True)
class RegistrationSettings:
    """How registration is configured."""

    mode: str  # "open", TOKEN or CLOSED
    admins: frozenset[str]  # the --admin usernames
    require_verification: bool


@dataclass(frozen=True)
class Registered:
    """A new account, and its session when it may log in at once (None: it verifies first)."""

    user: User
    login: Login | None


@dataclass(frozen=True)
class NewToken:
    """A registration token just made: its secret is shown this once."""

    token: str
    stored: RegistrationToken


class Registration:
    """The rules of registering and of registration tokens."""

    def __init__(
        self,
        clock: IReactorTime,
        users: UsersStore,
        tokens: RegistrationTokensStore,
        hasher: PasswordHasher,
        accounts: Accounts,
        links: AccountLinks,
        settings: RegistrationSettings,
    ) -> None:
        self._clock = clock
        self._users = users
        self._tokens = tokens
        self._hasher = hasher
        self._accounts = accounts
        self._links = links
        self.settings = settings
        # Keyed like usernames: --admin Alice applies to the account registered as "alice".
        self._admins = frozenset(username_key(name) for name in settings.admins)

    def _now(self) -> int:
        return int(self._clock.seconds())

    @property
    def password_reset(self) -> bool:
        """Whether an account's owner can ask for a reset link (mail is configured)."""
        return self._links.mails

    def check_open(self) -> None:
        """Closed registration is refused before the body is read."""
        if self.settings.mode == CLOSED:
            raise RegistrationClosed("registration is closed on this server")

    async def register(self, account: Register, client: str) -> Registered:
        """A new account; signed in from `client` unless its email is verified first."""
        self.check_open()
        token = self._registration_token(account)
        verify = self.settings.require_verification
        verification, expires_at = self._links.new_verification()
        listed = username_key(account.username) in self._admins
        user = await self._create(
            NewAccount(
                account.username,
                account.email,
                await self._hasher.hash(account.password),
                account.display_name,
                is_admin=listed,
                awaiting_verification=verify,
            ),
            Admission(
                registration_token_hash=None if token is None else token_hash(token),
                verification_hash=token_hash(verification) if verify else None,
                verification_expires_at=expires_at,
                listed_admin=listed,
            ),
        )
        if verify:
            self._links.mail_verification(user, verification)
            return Registered(user, None)
        return Registered(user, await self._accounts.open_session(user, client))

    def _registration_token(self, account: Register) -> str | None:
        """The token the mode asks for; in open mode a token sent is ignored."""
        if self.settings.mode != TOKEN:
            return None
        if account.token is None:
            raise InvalidRequest("token is required: registration needs a registration token")
        return account.token

    async def _create(self, account: NewAccount, admission: Admission) -> User:
        try:
            user = await self._users.create(account, self._now(), admission)
        except RegistrationTokenRefused:
            raise InvalidRegistrationToken(
                "the registration token is unknown, expired or used up"
            ) from None
        if user is None:
            raise Conflict("username or email is already taken")
        return user

    async def make_token(self, command: CreateRegistrationToken, actor_id: int | None) -> NewToken:
        """A token with a fresh secret, made by an administrator or (None) the operator's tool:
        the route lets administrators only. Recorded in the audit log."""
        if command.expires_at is not None and command.expires_at <= self._now():
            raise InvalidRequest("expires_at must be in the future")
        token = new_token()
        detail = {"uses_allowed": command.uses_allowed, "expires_at": command.expires_at}
        entry = AuditEntry(actor_id, "create_registration_token", TARGET_KIND, 0, detail)
        stored = await self._tokens.create(
            token_hash(token), command.uses_allowed, command.expires_at, self._now(), entry
        )
        return NewToken(token, stored)

    async def tokens(self) -> list[RegistrationToken]:
        """Every registration token, oldest first (no check here)."""
        return await self._tokens.list()

    async def remove_token(self, token_id: int, actor_id: int | None) -> None:
        """Delete a token (404 when there is none; no check here), recorded in the audit log."""
        entry = AuditEntry(actor_id, "delete_registration_token", TARGET_KIND, token_id, {})
        if not await self._tokens.delete(token_id, self._now(), entry):
            raise NotFound("no such registration token")
