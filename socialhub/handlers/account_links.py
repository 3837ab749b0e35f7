"""Mailed one-time links: password resets (asked by the owner or made by an administrator) and
email verification.

Each link carries a fresh random token; only its SHA-256 is stored, it works once, and a reset's
expires after an hour. The link opens the web client (`/reset-password?token=...`,
`/verify-email?token=...`) under the server's public URL. Mail leaves off the request path.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from socialhub.auth.passwords import PasswordHasher
from socialhub.auth.tokens import new_token, token_hash
from socialhub.delivery.interface import Delivery
from socialhub.errors import InvalidToken, NotFound
from socialhub.handlers.accounts import SESSION_REVOKED
from socialhub.handlers.commands import ConfirmReset
from socialhub.mail.smtp import Mailer
from socialhub.storage.stores.account_tokens import (
    PASSWORD_RESET,
    AccountToken,
    AccountTokensStore,
)
from socialhub.storage.stores.audit import AuditEntry
from socialhub.storage.stores.users import User, UsersStore

RESET_TTL = 3600
VERIFICATION_TTL = 7 * 86400

log = Logger(namespace="socialhub.handlers")


class AccountLinks:
    """The rules of reset and verification links."""

    def __init__(
        self,
        clock: IReactorTime,
        users: UsersStore,
        tokens: AccountTokensStore,
        hasher: PasswordHasher,
        delivery: Delivery,
        mailer: Mailer | None,
        base_url: str,
    ) -> None:
        self._clock = clock
        self._users = users
        self._tokens = tokens
        self._hasher = hasher
        self._delivery = delivery
        self._mailer = mailer
        self._base_url = base_url

    @property
    def mails(self) -> bool:
        """Whether mail is configured (a reset can be asked for by its owner)."""
        return self._mailer is not None

    def _now(self) -> int:
        return int(self._clock.seconds())

    def link(self, view: str, token: str) -> str:
        return f"{self._base_url}/{view}?token={token}"

    def new_verification(self) -> tuple[str, int]:
        """A verification token and its expiry, for an account about to be made."""
        return new_token(), self._now() + VERIFICATION_TTL

    def mail_verification(self, user: User, token: str) -> None:
        self._mail(
            user,
            "Verify your email address",
            "Follow this link to verify your email address and log in:\n\n"
            f"{self.link('verify-email', token)}\n",
        )

    async def verify_email(self, token: str) -> None:
        if await self._tokens.verify_email(token_hash(token), self._now()) is None:
            raise InvalidToken("the verification link is unknown, used or expired")

    def request_reset(self, email: str) -> None:
        """Mail a reset link when an account has this email. Done off the request path, which
        answers alike whether or not one has: nobody learns who has an account."""
        started = Deferred.fromCoroutine(self._mail_reset(email))
        started.addErrback(lambda failure: log.failure("password reset", failure))

    async def _mail_reset(self, email: str) -> None:
        user = await self._users.by_email(email)
        if user is not None and self._mailer is not None:
            token = await self._issue_reset(user.id, None)
            self._mail_reset_link(user, token)

    async def reset_password(self, confirm: ConfirmReset) -> None:
        """Set the password and revoke every session, closing their sockets (4001). Following
        a link mailed to the account's address also verifies it: an owner whose verification
        link expired asks for a reset."""
        password_hash = await self._hasher.hash(confirm.password)
        reset = await self._tokens.reset_password(
            token_hash(confirm.token), password_hash, self._now()
        )
        if reset is None:
            raise InvalidToken("the reset link is unknown, used or expired")
        self._delivery.close_sessions(reset.user_id, reset.revoked_sessions, *SESSION_REVOKED)

    async def reset_by(self, actor_id: int | None, user_id: int) -> str | None:
        """An administrator's (or, None, the operator's tool's) reset, recorded in the audit
        log: revoke the user's sessions and make a reset link, mailed to them when mail is
        configured (None), otherwise returned to pass on. No check here."""
        user = await self._users.get(user_id)
        if user is None:
            raise NotFound("no such user")
        entry = AuditEntry(actor_id, "reset_password", "user", user.id, {"mailed": self.mails})
        token = await self._issue_reset(user.id, entry)
        if self._mailer is None:
            return self.link("reset-password", token)
        self._mail_reset_link(user, token)
        return None

    async def _issue_reset(self, user_id: int, audit: AuditEntry | None) -> str:
        """A reset token; with `audit` (an administrator's reset), the user's sessions are
        revoked and their sockets closed."""
        token = new_token()
        expires_at = self._now() + RESET_TTL
        stored = AccountToken(token_hash(token), user_id, PASSWORD_RESET, expires_at)
        revoked = await self._tokens.issue(stored, self._now(), audit)
        self._delivery.close_sessions(user_id, revoked, *SESSION_REVOKED)
        return token

    def _mail_reset_link(self, user: User, token: str) -> None:
        self._mail(
            user,
            "Reset your password",
            "Follow this link within an hour to choose a new password:\n\n"
            f"{self.link('reset-password', token)}\n\n"
            "If you did not ask for this, ignore this message.\n",
        )

    def _mail(self, user: User, subject: str, body: str) -> None:
        if self._mailer is not None:
            self._mailer.send(user.email, subject, body)
