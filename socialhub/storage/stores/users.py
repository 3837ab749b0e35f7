"""The SQL of accounts: users and their credentials."""

from __future__ import annotations

from dataclasses import dataclass

from socialhub.storage.database import (
    Database,
    Row,
    Statement,
    by_name,
    read_one,
    write,
)

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


def username_key(username: str) -> str:
    """Usernames are ASCII, so lower-casing makes them case-insensitive."""
    return username.lower()


def email_key(email: str) -> str:
    return email.casefold()


def display_name_key(display_name: str) -> str:
    """Display names are searched case-insensitively for all of Unicode: 'Straße' ~ 'STRASSE'."""
    return display_name.casefold()


@dataclass(frozen=True)
class NewUser:
    """An account to create, its password already hashed."""

    username: str
    email: str
    password_hash: str
    display_name: str
    is_admin: bool


def insert_user(account: NewUser, now: int) -> Statement:
    """The statement that creates the account, returning its USER_COLUMNS row (no row when the
    username or the email is taken)."""
    return (
        "INSERT INTO users (username, username_key, email, email_key, password_hash,"
        " display_name, display_name_key, is_admin, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
            now,
        ),
    )


class UsersStore:
    """Accounts: creating them, finding them by id or login, credentials."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(self, account: NewUser, now: int) -> User | None:
        """The new user, or None when the username or the email is taken."""
        rows = await write(self._db, "create_user", *insert_user(account, now))
        return User.from_row(rows[0]) if rows else None

    async def get(self, user_id: int) -> User | None:
        row = await read_one(self._db, "get_user", _BY_ID, (user_id,))
        return User.from_row(row) if row else None

    async def credentials(self, login: str) -> tuple[User, str] | None:
        """The user whose username or email is `login` (any case), with the password hash."""
        row = await read_one(
            self._db,
            "get_credentials",
            f"SELECT {USER_COLUMNS}, password_hash FROM users"
            " WHERE username_key = ? OR email_key = ?",
            (username_key(login), email_key(login)),
        )
        return (User.from_row(row[:USER_WIDTH]), row[USER_WIDTH]) if row else None

    async def password_hash(self, user_id: int) -> str | None:
        sql = "SELECT password_hash FROM users WHERE id = ?"
        row = await read_one(self._db, "get_password_hash", sql, (user_id,))
        return row[0] if row else None

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        sql = "UPDATE users SET password_hash = ? WHERE id = ?"
        await write(self._db, "set_password_hash", sql, (password_hash, user_id))
