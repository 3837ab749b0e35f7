"""The SQL of accounts: users and their credentials."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

from socialhub.storage.database import (
    Database,
    Row,
    Statement,
    Transaction,
    by_name,
    read_one,
    write,
)
from socialhub.storage.stores.account_tokens import (
    VERIFY_EMAIL,
    AccountToken,
    insert_account_token,
)
from socialhub.storage.stores.registration_tokens import use_registration_token

# The users columns a User is read from, by name: the SELECT lists and `User.from_row` both
# follow this tuple, so a column added here cannot shift another.
USER_FIELDS = (
    "id",
    "username",
    "email",
    "display_name",
    "about",
    "is_private",
    "is_admin",
    "created_at",
    "avatar_name",
    "show_presence",
    "deactivated_at",
)
USER_COLUMNS = ", ".join(USER_FIELDS)
USER_WIDTH = len(USER_FIELDS)  # where the next columns start in a row that joins more
_BY_ID = f"SELECT {USER_COLUMNS} FROM users WHERE id = ?"


@dataclass(frozen=True)
class User:
    """An account as the rest of the server sees it (never with its password hash)."""

    id: int
    username: str
    email: str
    display_name: str
    about: str
    is_private: bool
    is_admin: bool
    created_at: int
    avatar_name: str | None = None  # the file name of the avatar upload, when one is set
    show_presence: bool = True
    deactivated_at: int | None = None  # when an administrator deactivated the account

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None

    @property
    def avatar_url(self) -> str | None:
        """Where the avatar is served (`/media/{name}`, as uploads are), or None."""
        return None if self.avatar_name is None else f"/media/{self.avatar_name}"

    @classmethod
    def from_row(cls, row: Row) -> User:
        """A row of USER_COLUMNS (SQLite gives its booleans as integers)."""
        values = by_name(USER_FIELDS, row)
        values["is_private"] = bool(values["is_private"])
        values["is_admin"] = bool(values["is_admin"])
        values["show_presence"] = bool(values["show_presence"])
        return cls(**values)


@dataclass(frozen=True)
class NewAccount:
    """What an account is created with."""

    username: str
    email: str
    password_hash: str
    display_name: str
    is_admin: bool
    awaiting_verification: bool = False


@dataclass(frozen=True)
class Admission:
    """What else an account's creation does in its transaction: count a use of the
    registration token with this hash, and store the first verification token, whose
    `user_id` is filled in once the account exists."""

    registration_token_hash: str | None = None
    verification_hash: str | None = None
    verification_expires_at: int = 0
    # The account's is_admin comes from the --admin list: it holds only while the server has
    # no active administrator (the first one), so a listed name freed by a deletion grants
    # nothing to whoever registers it next.
    listed_admin: bool = False


class StoredCredentials(NamedTuple):
    """What a login is checked against."""

    user: User
    password_hash: str
    awaiting_verification: bool


class _Taken(Exception):
    """The username or email is taken: the account's transaction is rolled back."""


# Whether the users row `{user}` is shown to the viewer `{viewer}`.
_SHOWN = (
    "({user}.deactivated_at IS NULL OR EXISTS (SELECT 1 FROM users sv"
    " WHERE sv.id = {viewer} AND sv.is_admin))"
)


def shown_to(viewer: str, user: str = "u") -> str:
    """The one rule of who sees a deactivated account: nobody but administrators, to whom it is
    as if it did not exist. An SQL condition of the users row aliased `user` and the viewer
    `viewer` (a `?` placeholder, or a column of the enclosing query)."""
    return _SHOWN.format(user=user, viewer=viewer)


# A row when the user (the first `?`) exists and is shown to the viewer (the second): what every
# write naming another user asks first, so that a deactivated account is as unknown as a
# missing one (404) to all but administrators.
SHOWN_USER = f"SELECT 1 FROM users u WHERE u.id = ? AND {shown_to('?')}"


def username_key(username: str) -> str:
    """Usernames are ASCII, so lower-casing makes them case-insensitive."""
    return username.lower()


def email_key(email: str) -> str:
    return email.casefold()


def display_name_key(display_name: str) -> str:
    """Display names are searched case-insensitively for all of Unicode: 'Straße' ~ 'STRASSE'."""
    return display_name.casefold()


class UsersStore:
    """Accounts: creating them, finding them by id or login, credentials."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self, account: NewAccount, now: int, admission: Admission = Admission()
    ) -> User | None:
        """The new user, or None when the username or the email is taken (no token use is
        counted then). Raises RegistrationTokenRefused when the admission's token is unknown,
        expired or used up."""

        async def body(txn: Transaction) -> User:
            if admission.registration_token_hash is not None:
                await use_registration_token(txn, admission.registration_token_hash, now)
            admitted = await _first_admin_only(txn, account) if admission.listed_admin else account
            row = await txn.fetchone(*insert_user(admitted, now))
            if row is None:
                raise _Taken
            user = User.from_row(row)
            if admission.verification_hash is not None:
                token = AccountToken(
                    admission.verification_hash,
                    user.id,
                    VERIFY_EMAIL,
                    admission.verification_expires_at,
                )
                await insert_account_token(txn, token, now)
            return user

        try:
            return await self._db.interaction("create_user", body)
        except _Taken:
            return None

    async def get(self, user_id: int) -> User | None:
        row = await read_one(self._db, "get_user", _BY_ID, (user_id,))
        return User.from_row(row) if row else None

    async def credentials(self, login: str) -> StoredCredentials | None:
        """The user whose username or email is `login` (any case), with the password hash."""
        row = await read_one(
            self._db,
            "get_credentials",
            f"SELECT {USER_COLUMNS}, password_hash, awaiting_verification FROM users"
            " WHERE username_key = ? OR email_key = ?",
            (username_key(login), email_key(login)),
        )
        if row is None:
            return None
        password_hash, awaiting = row[USER_WIDTH:]
        return StoredCredentials(User.from_row(row[:USER_WIDTH]), password_hash, bool(awaiting))

    async def by_username(self, username: str) -> User | None:
        """The user named `username`, in any case."""
        sql = f"SELECT {USER_COLUMNS} FROM users WHERE username_key = ?"
        row = await read_one(self._db, "get_user_by_username", sql, (username_key(username),))
        return User.from_row(row) if row else None

    async def by_email(self, email: str) -> User | None:
        """The user whose email is `email`, in any case."""
        sql = f"SELECT {USER_COLUMNS} FROM users WHERE email_key = ?"
        row = await read_one(self._db, "get_user_by_email", sql, (email_key(email),))
        return User.from_row(row) if row else None

    async def password_hash(self, user_id: int) -> str | None:
        sql = "SELECT password_hash FROM users WHERE id = ?"
        row = await read_one(self._db, "get_password_hash", sql, (user_id,))
        return row[0] if row else None

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        sql = "UPDATE users SET password_hash = ? WHERE id = ?"
        await write(self._db, "set_password_hash", sql, (password_hash, user_id))


async def _first_admin_only(txn: Transaction, account: NewAccount) -> NewAccount:
    """The account without the role when an active administrator exists already."""
    active = "SELECT 1 FROM users WHERE is_admin AND deactivated_at IS NULL"
    if account.is_admin and await txn.fetchone(active) is not None:
        return dataclasses.replace(account, is_admin=False)
    return account


def insert_user(account: NewAccount, now: int) -> Statement:
    """The INSERT of a new account, RETURNING its User's columns (no row when taken)."""
    return (
        "INSERT INTO users (username, username_key, email, email_key, password_hash,"
        " display_name, display_name_key, is_admin, awaiting_verification, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        f" ON CONFLICT DO NOTHING RETURNING {USER_COLUMNS}",
        (
            account.username,
            username_key(account.username),
            account.email,
            email_key(account.email),
            account.password_hash,
            account.display_name,
            display_name_key(account.display_name),
            account.is_admin,
            account.awaiting_verification,
            now,
        ),
    )
