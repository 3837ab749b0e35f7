"""The SQL of accounts: users and their credentials."""

from __future__ import annotations

from dataclasses import dataclass

from socialhub.storage.database import Database, Row, Transaction

USER_COLUMNS = (
    "id, username, email, display_name, about, is_private, is_admin, created_at, avatar_name"
)


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

    @property
    def avatar_url(self) -> str | None:
        """Where the avatar is served (`/media/{name}`, as uploads are), or None."""
        return None if self.avatar_name is None else f"/media/{self.avatar_name}"

    @classmethod
    def from_row(cls, row: Row) -> User:
        return cls(
            id=row[0],
            username=row[1],
            email=row[2],
            display_name=row[3],
            about=row[4],
            is_private=bool(row[5]),
            is_admin=bool(row[6]),
            created_at=row[7],
            avatar_name=row[8],
        )


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

        async def insert(txn: Transaction) -> User | None:
            row = await txn.fetchone(
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
            return User.from_row(row) if row else None

        return await self._db.interaction("create_user", insert)

    async def get(self, user_id: int) -> User | None:
        """One SELECT without BEGIN and COMMIT: one round trip."""
        sql = f"SELECT {USER_COLUMNS} FROM users WHERE id = ?"
        rows = await self._db.read("get_user", sql, (user_id,))
        return User.from_row(rows[0]) if rows else None

    async def credentials(self, login: str) -> tuple[User, str] | None:
        """The user whose username or email is `login` (any case), with the password hash."""

        async def select(txn: Transaction) -> tuple[User, str] | None:
            row = await txn.fetchone(
                f"SELECT {USER_COLUMNS}, password_hash FROM users"
                " WHERE username_key = ? OR email_key = ?",
                (username_key(login), email_key(login)),
            )
            return (User.from_row(row), row[-1]) if row else None

        return await self._db.interaction("get_credentials", select)

    async def password_hash(self, user_id: int) -> str | None:
        async def select(txn: Transaction) -> str | None:
            row = await txn.fetchone("SELECT password_hash FROM users WHERE id = ?", (user_id,))
            return row[0] if row else None

        return await self._db.interaction("get_password_hash", select)

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        async def update(txn: Transaction) -> None:
            await txn.run(
                "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)
            )

        await self._db.interaction("set_password_hash", update)

    async def sync_admins(self, usernames: frozenset[str]) -> None:
        """Make exactly these usernames administrators (the --admin list at start)."""
        keys = sorted(username_key(name) for name in usernames)

        async def update(txn: Transaction) -> None:
            await txn.run("UPDATE users SET is_admin = FALSE WHERE is_admin")
            for key in keys:
                await txn.run("UPDATE users SET is_admin = TRUE WHERE username_key = ?", (key,))

        await self._db.interaction("sync_admins", update)
