"""The SQL of uploaded images: recording an upload, attaching it, and finding what is attached.

Attaching runs inside the transaction of the post or comment it belongs to, so those functions
take the caller's `Transaction` (as `NotificationsStore.add` does): a post is never stored with
media it could not claim, and a claimed image never points at a post that was rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from socialhub.storage.database import Args, Database, Row, Transaction, by_name, read_one, write
from socialhub.storage.stores.notifications import placeholders

# The columns a Media is read from, by name (its fields, in this order).
MEDIA_FIELDS = (
    "id",
    "owner_id",
    "name",
    "content_type",
    "size",
    "width",
    "height",
    "created_at",
    "post_id",
    "comment_id",
)
MEDIA_COLUMNS = ", ".join(MEDIA_FIELDS)
MAX_ATTACHED = 4
# The two things an image can be attached to, and the column that says which.
POST = "post_id"
COMMENT = "comment_id"
_OWNERS = (POST, COMMENT)


@dataclass(frozen=True)
class Media:
    """One stored image."""

    id: int
    owner_id: int
    name: str
    content_type: str
    size: int
    width: int
    height: int
    created_at: int
    post_id: int | None
    comment_id: int | None

    @property
    def url(self) -> str:
        return f"/media/{self.name}"

    @classmethod
    def from_row(cls, row: Row) -> Media:
        """A row of MEDIA_COLUMNS."""
        return cls(**by_name(MEDIA_FIELDS, row))


@dataclass(frozen=True)
class NewMedia:
    """What an upload stores about a file just written."""

    name: str
    content_type: str
    size: int
    width: int
    height: int


class MediaNotClaimable(Exception):
    """Some ids are not the owner's own unattached uploads; the transaction must roll back."""


class MediaStore:
    """Uploads as rows; the files themselves are `socialhub.media.files`' business."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(self, owner_id: int, new: NewMedia, now: int) -> Media:
        (row,) = await write(
            self._db,
            "create_media",
            "INSERT INTO media (owner_id, name, content_type, size, width, height, created_at)"
            f" VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {MEDIA_COLUMNS}",
            (owner_id, new.name, new.content_type, new.size, new.width, new.height, now),
        )
        return Media.from_row(row)

    async def get_owned(self, owner_id: int, media_id: int) -> Media | None:
        """An upload of `owner_id` (attached or not), e.g. to become their avatar."""
        row = await read_one(
            self._db,
            "get_owned_media",
            f"SELECT {MEDIA_COLUMNS} FROM media WHERE id = ? AND owner_id = ?",
            (media_id, owner_id),
        )
        return Media.from_row(row) if row else None


def _check_column(column: str) -> None:
    """`column` goes into SQL text, so it must be one of the two known names."""
    if column not in _OWNERS:
        raise ValueError(f"media attach to {_OWNERS}, not {column!r}")


async def claim(
    txn: Transaction, owner_id: int, media_ids: Sequence[int], column: str, target_id: int
) -> list[Media]:
    """Attach uploads to a post or comment (`column` is POST or COMMENT), in the given order.

    Each id must be an unattached upload of `owner_id` that is not their avatar, at most
    MAX_ATTACHED of them, without repeats; otherwise MediaNotClaimable is raised so the caller's
    transaction rolls back. (An avatar stays unattached, so no deletion can take it away.)
    """
    _check_column(column)
    if len(media_ids) > MAX_ATTACHED or len(set(media_ids)) != len(media_ids):
        raise MediaNotClaimable(f"at most {MAX_ATTACHED} different media ids")
    claimed = []
    for ordinal, media_id in enumerate(media_ids):
        row = await txn.fetchone(
            f"UPDATE media SET {column} = ?, ordinal = ? WHERE id = ? AND owner_id = ?"
            " AND post_id IS NULL AND comment_id IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM users u WHERE u.avatar_media_id = media.id)"
            f" RETURNING {MEDIA_COLUMNS}",
            (target_id, ordinal, media_id, owner_id),
        )
        if row is None:
            raise MediaNotClaimable(f"media {media_id} is not an unattached upload of the caller")
        claimed.append(Media.from_row(row))
    return claimed


async def attached(
    txn: Transaction, column: str, target_ids: Sequence[int]
) -> dict[int, list[Media]]:
    """The media of each of these posts or comments, in their order; ids without any are absent."""
    _check_column(column)
    if not target_ids:
        return {}
    rows = await txn.fetch(
        f"SELECT {MEDIA_COLUMNS} FROM media WHERE {column} IN ({placeholders(len(target_ids))})"
        " ORDER BY ordinal, id",
        tuple(target_ids),
    )
    found: dict[int, list[Media]] = {}
    for row in rows:
        media = Media.from_row(row)
        found.setdefault(getattr(media, column), []).append(media)
    return found


async def delete_attached(txn: Transaction, column: str, target_ids: Sequence[int]) -> list[str]:
    """Delete the rows of these posts' or comments' media; returns the file names to remove
    once the transaction has committed (`handlers.media.MediaUploads.discard`)."""
    if not target_ids:
        return []
    return await delete_attached_to(
        txn, column, f"VALUES {placeholders(len(target_ids), '(?)')}", target_ids
    )


async def delete_attached_to(txn: Transaction, column: str, targets: str, args: Args) -> list[str]:
    """As `delete_attached`, for the posts or comments whose ids the query `targets` yields
    (e.g. every post of a group): one statement, however many there are."""
    _check_column(column)
    rows = await txn.fetch(
        f"DELETE FROM media WHERE {column} IN ({targets}) RETURNING name", tuple(args)
    )
    return [row[0] for row in rows]


async def use_as_avatar(txn: Transaction, user_id: int) -> None:
    """Record the file name of the upload the user's `avatar_media_id` now names (or clear it),
    inside the transaction that set it. The upload must be the user's own and unattached;
    otherwise MediaNotClaimable is raised so that transaction rolls back."""
    row = await txn.fetchone(
        "UPDATE users SET avatar_name = (SELECT m.name FROM media m"
        " WHERE m.id = users.avatar_media_id AND m.owner_id = users.id"
        " AND m.post_id IS NULL AND m.comment_id IS NULL)"
        " WHERE id = ? RETURNING avatar_media_id, avatar_name",
        (user_id,),
    )
    if row is not None and row[0] is not None and row[1] is None:
        raise MediaNotClaimable(f"media {row[0]} is not an unattached upload of the caller")
