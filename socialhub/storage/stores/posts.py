"""The SQL of posts, their comments and likes.

Every statement that reads or touches a post as some viewer filters it with
`post_visibility.visible_to` (the one rule of who sees what), through `_select_posts` for lists
and in the conditional writes of likes and comments, so a post one cannot see is never listed,
liked or commented on, even if it changed between the handler's check and the write.

A page of posts costs two statements whatever its size: the posts with their author, like and
comment counts and the viewer's own like (correlated subqueries through `likes`' primary key and
`comments_by_post`), then the media of the whole page. Notifications are stored in the
transaction of their action, for many users with one INSERT ... SELECT. A post leaves with its
notifications and its media rows (neither has a foreign key to posts), in one transaction; the
caller removes the media files once that has committed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from socialhub.storage.database import (
    Args,
    Database,
    Row,
    Transaction,
    by_name,
    qualify,
    read_one,
    write,
)
from socialhub.storage.stores.media import (
    COMMENT,
    POST,
    Media,
    attached,
    claim,
    delete_attached,
    delete_attached_to,
)
from socialhub.storage.stores.notifications import (
    Notice,
    Notification,
    NotificationsStore,
    placeholders,
)
from socialhub.storage.stores.post_visibility import visible_to, visible_to_each
from socialhub.storage.stores.users import SHOWN_USER, USER_COLUMNS, User

PUBLIC: Final = "public"
FOLLOWERS: Final = "followers"
PRIVATE: Final = "private"
PRIVACY_LEVELS: Final = (PUBLIC, FOLLOWERS, PRIVATE)

_AUTHOR = qualify(USER_COLUMNS, "a")
# A post, its counts, and whether the viewer (the first `?`) likes it, as `_POST_FIELDS` names
# them, then its author (`a`, USER_COLUMNS).
_POST_FIELDS = (
    "id",
    "content",
    "privacy",
    "group_id",
    "created_at",
    "like_count",
    "comment_count",
    "liked_by_me",
)
_SELECT_POSTS = (
    f"SELECT {qualify(', '.join(_POST_FIELDS[:5]), 'p')},"
    " (SELECT COUNT(*) FROM likes l WHERE l.post_id = p.id),"
    " (SELECT COUNT(*) FROM comments c WHERE c.post_id = p.id),"
    " EXISTS (SELECT 1 FROM likes l WHERE l.post_id = p.id AND l.user_id = ?),"
    f" {_AUTHOR} FROM posts p JOIN users a ON a.id = p.author_id"
)
# A comment's columns by name, then its author (`a`, USER_COLUMNS).
_COMMENT_FIELDS = ("id", "post_id", "content", "created_at")
_SELECT_COMMENTS = (
    f"SELECT {qualify(', '.join(_COMMENT_FIELDS), 'c')}, {_AUTHOR}"
    " FROM comments c JOIN users a ON a.id = c.author_id"
)
# The posts on a viewer's feed (the three `?` are the viewer): their own, those of whom they
# follow (accepted), and those of their groups; the visibility rule is applied on top.
_FEED = (
    "p.author_id = ?"
    " OR p.author_id IN (SELECT followee_id FROM follows WHERE follower_id = ?"
    " AND status = 'accepted')"
    " OR p.group_id IN (SELECT group_id FROM group_members WHERE user_id = ? AND is_accepted)"
)
# Who hears of a new post (its id is the `?`): each accepted follower of its author who may
# see it; never for a group post.
_FOLLOWERS_WHO_SEE = (
    "SELECT f.follower_id FROM posts p JOIN users a ON a.id = p.author_id"
    " JOIN follows f ON f.followee_id = p.author_id AND f.status = 'accepted'"
    f" WHERE p.id = ? AND p.group_id IS NULL AND {visible_to_each('f.follower_id')}"
)
# Who hears of a like (post, liker, liker): the post's author, unless it is the liker's own
# post or this liker's like of it was notified before (a like withdrawn and given again).
_AUTHOR_NOT_TOLD_OF_LIKE = (
    "SELECT p.author_id FROM posts p WHERE p.id = ? AND p.author_id <> ?"
    " AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.post_id = p.id"
    " AND n.user_id = p.author_id AND n.actor_id = ? AND n.type = 'post_like')"
)


class AudienceRefused(Exception):
    """Some allowed_user_ids are not accepted followers of the author: nothing is stored."""


@dataclass(frozen=True)
class Draft:
    """A post as its author asks for it, before it has an id."""

    author: User
    content: str
    privacy: str
    group_id: int | None = None
    allowed_user_ids: Sequence[int] = ()
    media_ids: Sequence[int] = ()


@dataclass(frozen=True)
class Post:
    """A post as one viewer sees it: with its counts and whether that viewer likes it."""

    id: int
    author: User
    content: str
    privacy: str
    group_id: int | None
    created_at: int
    like_count: int = 0
    comment_count: int = 0
    liked_by_me: bool = False
    media: Sequence[Media] = ()

    @classmethod
    def from_row(cls, row: Row) -> Post:
        """A row of `_SELECT_POSTS`."""
        width = len(_POST_FIELDS)
        values = by_name(_POST_FIELDS, row[:width])
        values["liked_by_me"] = bool(values["liked_by_me"])
        return cls(author=User.from_row(row[width:]), **values)


@dataclass(frozen=True)
class Comment:
    """One comment on a post, with its author and media."""

    id: int
    post_id: int
    author: User
    content: str
    created_at: int
    media: Sequence[Media] = ()

    @classmethod
    def from_row(cls, row: Row) -> Comment:
        """A row of `_SELECT_COMMENTS`."""
        width = len(_COMMENT_FIELDS)
        return cls(author=User.from_row(row[width:]), **by_name(_COMMENT_FIELDS, row[:width]))


@dataclass(frozen=True)
class CommentAccess:
    """Who wrote a comment, who wrote its post, and whether the asking viewer sees that post."""

    author_id: int
    post_author_id: int
    post_visible: bool


async def _select_posts(
    txn: Transaction, viewer_id: int, where: str, args: Args, limit: int, offset: int
) -> list[Post]:
    """The posts matching `where` that the viewer may see, newest first, with their media."""
    visible = visible_to(viewer_id)
    rows = await txn.fetch(
        f"{_SELECT_POSTS} WHERE ({where}) AND {visible.sql} ORDER BY p.id DESC LIMIT ? OFFSET ?",
        (viewer_id, *args, *visible.args, limit, offset),
    )
    posts = [Post.from_row(row) for row in rows]
    media = await attached(txn, POST, [post.id for post in posts])
    return [dataclasses.replace(post, media=media.get(post.id, [])) for post in posts]


async def _select_comments(
    txn: Transaction, where: str, args: Args, limit: int, offset: int
) -> list[Comment]:
    """The comments matching `where`, oldest first, with their media."""
    rows = await txn.fetch(
        f"{_SELECT_COMMENTS} WHERE {where} ORDER BY c.id LIMIT ? OFFSET ?", (*args, limit, offset)
    )
    comments = [Comment.from_row(row) for row in rows]
    media = await attached(txn, COMMENT, [comment.id for comment in comments])
    return [dataclasses.replace(c, media=media.get(c.id, [])) for c in comments]


async def _insert_post(txn: Transaction, draft: Draft, now: int) -> int | None:
    """The new post's id; a group post only while its author is an accepted member (else None)."""
    values = (draft.author.id, draft.content, draft.privacy)
    if draft.group_id is None:
        row = await txn.fetchone(
            "INSERT INTO posts (author_id, content, privacy, created_at) VALUES (?, ?, ?, ?)"
            " RETURNING id",
            (*values, now),
        )
    else:
        row = await txn.fetchone(
            "INSERT INTO posts (author_id, content, privacy, group_id, created_at)"
            " SELECT ?, ?, ?, group_id, ? FROM group_members"
            " WHERE group_id = ? AND user_id = ? AND is_accepted RETURNING id",
            (*values, now, draft.group_id, draft.author.id),
        )
    return int(row[0]) if row else None


async def _allow(txn: Transaction, post_id: int, author_id: int, user_ids: Sequence[int]) -> None:
    """Record the readers of a private post; each must be an accepted follower of its author."""
    if not user_ids:
        return
    added = await txn.run(
        "INSERT INTO post_allowed_users (post_id, user_id) SELECT ?, follower_id FROM follows"
        " WHERE followee_id = ? AND status = 'accepted'"
        f" AND follower_id IN ({placeholders(len(user_ids))})",
        (post_id, author_id, *user_ids),
    )
    if added != len(user_ids):
        raise AudienceRefused("allowed_user_ids must be accepted followers of the author")


async def delete_posts(txn: Transaction, posts: str, args: Args) -> list[str]:
    """Delete the posts whose ids the query `posts` yields, inside the caller's `txn`, with their
    notifications and the media rows of them and of their comments; comments, likes and allowed
    readers cascade. Returns the media file names to remove once `txn` has committed."""
    comments = f"SELECT id FROM comments WHERE post_id IN ({posts})"
    names = await delete_attached_to(txn, COMMENT, comments, args)
    names += await delete_attached_to(txn, POST, posts, args)
    await txn.run(f"DELETE FROM notifications WHERE post_id IN ({posts})", args)
    await txn.run(f"DELETE FROM posts WHERE id IN ({posts})", args)
    return names


async def delete_post(txn: Transaction, post_id: int) -> list[str] | None:
    """`delete_posts` for one post, whoever wrote it; None when there is no such post."""
    post = "SELECT id FROM posts WHERE id = ?"
    if await txn.fetchone(post, (post_id,)) is None:
        return None
    return await delete_posts(txn, post, (post_id,))


async def delete_comment(txn: Transaction, comment_id: int) -> list[str] | None:
    """Delete a comment and its media rows inside the caller's `txn`: the file names to remove
    once it commits, or None when there is no such comment."""
    names = await delete_attached(txn, COMMENT, [comment_id])
    deleted = await txn.run("DELETE FROM comments WHERE id = ?", (comment_id,))
    return names if deleted else None


async def delete_group_posts(txn: Transaction, group_id: int) -> list[str]:
    """`delete_posts` for every post of a group, as the group's deletion needs."""
    return await delete_posts(txn, "SELECT id FROM posts WHERE group_id = ?", (group_id,))


class PostsStore:
    """Posts, the users allowed to read private ones, likes and comments."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self, draft: Draft, notice: Notice | None, now: int
    ) -> tuple[Post, list[Notification]] | None:
        """Store the post, its readers and media, and `notice` (given the post's id) for every
        follower who may see it; None when a group post's author is no longer a member.

        Raises AudienceRefused or MediaNotClaimable, storing nothing, for readers who are not
        followers or media that are not the author's unattached uploads.
        """

        async def insert(txn: Transaction) -> tuple[Post, list[Notification]] | None:
            post_id = await _insert_post(txn, draft, now)
            if post_id is None:
                return None
            await _allow(txn, post_id, draft.author.id, draft.allowed_user_ids)
            media = await claim(txn, draft.author.id, draft.media_ids, POST, post_id)
            notified: list[Notification] = []
            if notice is not None:
                about = dataclasses.replace(notice, post_id=post_id)
                notified = await NotificationsStore.add_selected(
                    txn, about, _FOLLOWERS_WHO_SEE, (post_id,), now
                )
            post = Post(post_id, draft.author, draft.content, draft.privacy, draft.group_id, now)
            return dataclasses.replace(post, media=media), notified

        return await self._db.interaction("create_post", insert)

    async def get(self, post_id: int, viewer_id: int) -> Post | None:
        """The post, when it exists and the viewer may see it."""

        async def select(txn: Transaction) -> Post | None:
            found = await _select_posts(txn, viewer_id, "p.id = ?", (post_id,), 1, 0)
            return found[0] if found else None

        return await self._db.interaction("get_post", select)

    async def feed(self, viewer_id: int, limit: int, offset: int) -> list[Post]:
        """The viewer's own posts, those of whom they follow and of their groups, newest first."""

        async def select(txn: Transaction) -> list[Post]:
            args = (viewer_id, viewer_id, viewer_id)
            return await _select_posts(txn, viewer_id, _FEED, args, limit, offset)

        return await self._db.interaction("get_feed", select)

    async def by_author(
        self, author_id: int, viewer_id: int, limit: int, offset: int
    ) -> list[Post] | None:
        """The author's posts the viewer may see, newest first; None when there is no such user
        (or none the viewer may see: users.shown_to)."""

        async def select(txn: Transaction) -> list[Post] | None:
            if await txn.fetchone(SHOWN_USER, (author_id, viewer_id)) is None:
                return None
            where = "p.author_id = ?"
            return await _select_posts(txn, viewer_id, where, (author_id,), limit, offset)

        return await self._db.interaction("list_user_posts", select)

    async def in_group(self, group_id: int, viewer_id: int, limit: int, offset: int) -> list[Post]:
        async def select(txn: Transaction) -> list[Post]:
            where = "p.group_id = ?"
            return await _select_posts(txn, viewer_id, where, (group_id,), limit, offset)

        return await self._db.interaction("list_group_posts", select)

    async def delete(self, post_id: int, author_id: int) -> list[str] | None:
        """Delete the author's post with everything it holds; the media file names to remove,
        or None when there was no such post of this author."""

        async def delete(txn: Transaction) -> list[str] | None:
            mine = "SELECT id FROM posts WHERE id = ? AND author_id = ?"
            if await txn.fetchone(mine, (post_id, author_id)) is None:
                return None
            return await delete_posts(txn, mine, (post_id, author_id))

        return await self._db.interaction("delete_post", delete)

    async def like(
        self, post_id: int, user_id: int, notice: Notice, now: int
    ) -> tuple[bool, list[Notification]] | None:
        """Like a post the user may see: (whether the like is new, the notifications stored).
        A new like stores `notice` for the post's author (see `_AUTHOR_NOT_TOLD_OF_LIKE`).
        None when the post is gone or hidden from the user."""

        async def insert(txn: Transaction) -> tuple[bool, list[Notification]] | None:
            visible = visible_to(user_id)
            row = await txn.fetchone(
                "INSERT INTO likes (post_id, user_id, created_at) SELECT p.id, ?, ?"
                f" FROM posts p JOIN users a ON a.id = p.author_id WHERE p.id = ? AND {visible.sql}"
                " ON CONFLICT DO NOTHING RETURNING post_id",
                (user_id, now, post_id, *visible.args),
            )
            if row is not None:
                args = (post_id, user_id, user_id)
                stored = await NotificationsStore.add_selected(
                    txn, notice, _AUTHOR_NOT_TOLD_OF_LIKE, args, now
                )
                return True, stored
            existing = await txn.fetchone(
                "SELECT 1 FROM likes WHERE post_id = ? AND user_id = ?", (post_id, user_id)
            )
            return (False, []) if existing else None

        return await self._db.interaction("like_post", insert)

    async def unlike(self, post_id: int, user_id: int) -> None:
        sql = "DELETE FROM likes WHERE post_id = ? AND user_id = ?"
        await write(self._db, "unlike_post", sql, (post_id, user_id))

    async def add_comment(
        self,
        post_id: int,
        author: User,
        content: str,
        media_ids: Sequence[int],
        notice: Notice | None,
        now: int,
    ) -> tuple[Comment, list[Notification]] | None:
        """Comment on a post the author may see, attach media, store `notice`; None when the post
        is gone or hidden. Raises MediaNotClaimable, storing nothing, for media not claimable."""

        async def insert(txn: Transaction) -> tuple[Comment, list[Notification]] | None:
            visible = visible_to(author.id)
            row = await txn.fetchone(
                "INSERT INTO comments (post_id, author_id, content, created_at)"
                " SELECT p.id, ?, ?, ? FROM posts p JOIN users a ON a.id = p.author_id"
                f" WHERE p.id = ? AND {visible.sql} RETURNING id",
                (author.id, content, now, post_id, *visible.args),
            )
            if row is None:
                return None
            media = await claim(txn, author.id, media_ids, COMMENT, row[0])
            stored = await NotificationsStore.add(txn, notice, now) if notice else []
            return Comment(row[0], post_id, author, content, now, media), stored

        return await self._db.interaction("add_comment", insert)

    async def comments(self, post_id: int, limit: int, offset: int) -> list[Comment]:
        """A page of a post's comments, oldest first (the caller checked the post is visible)."""

        async def select(txn: Transaction) -> list[Comment]:
            return await _select_comments(txn, "c.post_id = ?", (post_id,), limit, offset)

        return await self._db.interaction("list_comments", select)

    async def comment_access(self, comment_id: int, viewer_id: int) -> CommentAccess | None:
        """Who may delete the comment, as the viewer sees it; None when there is no comment."""
        visible = visible_to(viewer_id)
        row = await read_one(
            self._db,
            "get_comment_access",
            f"SELECT c.author_id, p.author_id, {visible.sql} FROM comments c"
            " JOIN posts p ON p.id = c.post_id JOIN users a ON a.id = p.author_id"
            " WHERE c.id = ?",
            (*visible.args, comment_id),
        )
        if row is None:
            return None
        author_id, post_author_id, post_visible = row
        return CommentAccess(author_id, post_author_id, bool(post_visible))

    async def delete_comment(self, comment_id: int) -> list[str] | None:
        """Delete a comment and its media rows: the file names to remove, or None if it is gone."""

        async def delete(txn: Transaction) -> list[str] | None:
            return await delete_comment(txn, comment_id)

        return await self._db.interaction("delete_comment", delete)
