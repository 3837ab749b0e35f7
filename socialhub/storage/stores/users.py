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


def username_key(username: str) -> str:
    """Usernames are ASCII, so lower-casing makes them case-insensitive."""
    return username.lower()


def email_key(email: str) -> str:
    return email.casefold()


def display_name_key(display_name: str) -> str:
    """Display names are searched case-insensitively for all of Unicode: 'Straße' ~ 'STRASSE'."""
    return display_name.casefold()


class UsersStore:
    """Accounts: creating them, finding them by id or login, credentials, the admin role."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self,
        username: str,
        email: str,
        password_hash: str,
        display_name: str,
        is_admin: bool,
        now: int,
    ) -> User | None:
        """The new user, or None when the username or the email is taken."""
        rows = await write(
            self._db,
            "create_user",
            "INSERT INTO users (username, username_key, email, email_key, password_hash,"
            " display_name, display_name_key, is_admin, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            f" ON CONFLICT DO NOTHING RETURNING {USER_COLUMNS}",
            (
                username,
                username_key(username),
                email,
                email_key(email),
                password_hash,
                display_name,
                display_name_key(display_name),
                is_admin,
                now,
            ),
        )
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

    async def set_admin(self, username: str, is_admin: bool) -> User | None:
        """Give or take the administrator role of the user named `username` (any case); the
        user as it is then, or None when there is no such user."""
        rows = await write(
            self._db,
            "set_admin",
            f"UPDATE users SET is_admin = ? WHERE username_key = ? RETURNING {USER_COLUMNS}",
            (is_admin, username_key(username)),
        )
        return User.from_row(rows[0]) if rows else None

    async def sync_admins(self, usernames: frozenset[str]) -> None:
        """Make exactly these usernames administrators (the --admin list at start)."""
        keys = sorted(username_key(name) for name in usernames)
        promote = "UPDATE users SET is_admin = TRUE WHERE username_key = ?"
        statements: list[Statement] = [("UPDATE users SET is_admin = FALSE WHERE is_admin", ())]
        statements += [(promote, (key,)) for key in keys]
        await self._db.at_once("sync_admins", statements)
