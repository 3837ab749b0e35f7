"""Posts, comments and likes, with their images.

Who may see a post is `storage.stores.post_visibility`'s rule, applied by the store to every
read and to the writes that need a visible post; a post the viewer cannot see answers exactly as
a post that does not exist (404), so its existence does not leak. Group posts also ask
handlers.membership (404 unknown group, 403 not a member). Notifications are stored in the
transaction of their action and pushed by Notifications.notify after it has committed; they go
to the other party, never to the one who acted. Media files of deleted posts and comments are
removed once their rows' deletion has committed.
"""

from __future__ import annotations

from collections.abc import Sequence

from twisted.internet.interfaces import IReactorTime

from socialhub.errors import Forbidden, InvalidRequest, NotFound
from socialhub.handlers.commands import CreateComment, CreatePost, Refusable, accepted
from socialhub.handlers.media import MediaUploads
from socialhub.handlers.membership import Membership
from socialhub.handlers.notifications import Notifications
from socialhub.storage.stores.media import MediaNotClaimable
from socialhub.storage.stores.notifications import Notice
from socialhub.storage.stores.posts import (
    AudienceRefused,
    Comment,
    Draft,
    Post,
    PostsStore,
)
from socialhub.storage.stores.users import User


def _no_post() -> NotFound:
    """Missing and hidden posts get the same answer."""
    return NotFound("no such post")


def _about(post: Post, actor: User, subtype: str, message: str) -> Notice:
    """A notice to the post's author about something `actor` did to the post."""
    return Notice(
        [post.author.id],
        subtype,
        message,
        actor_id=actor.id,
        group_id=post.group_id,
        post_id=post.id,
    )


class Posts:
    """The rules of posts, comments and likes."""

    def __init__(
        self,
        clock: IReactorTime,
        posts: PostsStore,
        membership: Membership,
        notifications: Notifications,
        media: MediaUploads,
    ) -> None:
        self._clock = clock
        self._posts = posts
        self._membership = membership
        self._notifications = notifications
        self._media = media

    def _now(self) -> int:
        return int(self._clock.seconds())

    async def create(self, viewer: User, new: CreatePost) -> Post:
        """Publish a post. A non-group post notifies `new_post` to every follower who may see
        it; a group post needs an accepted member (404, 403 before a bad field) and notifies
        nobody."""
        group_id = new.group_id
        if group_id is not None:
            await self._membership.require_member(group_id, viewer.id)
        asked = accepted(new.post)
        draft = Draft(
            author=viewer,
            content=asked.content,
            privacy=asked.privacy,
            group_id=group_id,
            allowed_user_ids=asked.allowed_user_ids,
            media_ids=asked.media_ids,
        )
        message = f"{viewer.username} published a new post"
        notice = (
            None if group_id is not None else Notice([], "new_post", message, actor_id=viewer.id)
        )
        try:
            created = await self._posts.create(draft, notice, self._now())
        except (AudienceRefused, MediaNotClaimable) as refused:
            raise InvalidRequest(str(refused)) from None
        if created is None:
            raise Forbidden("only the group's members may do this")  # left meanwhile
        post, notified = created
        self._notifications.notify(notified)
        return post

    async def get(self, viewer: User, post_id: int) -> Post:
        """The post, when the viewer may see it; 404 otherwise."""
        post = await self._posts.get(post_id, viewer.id)
        if post is None:
            raise _no_post()
        return post

    async def delete(self, viewer: User, post_id: int) -> None:
        """Delete one's post with its comments, likes, images and notifications (404 for a post
        one cannot see, 403 for someone else's)."""
        post = await self.get(viewer, post_id)
        if post.author.id != viewer.id:
            raise Forbidden("only the author may delete a post")
        names = await self._posts.delete(post_id, viewer.id)
        if names is None:
            raise _no_post()
        await self._media.discard(names)

    async def feed(self, viewer: User, limit: int, offset: int) -> list[Post]:
        return await self._posts.feed(viewer.id, limit, offset)

    async def by_user(self, viewer: User, user_id: int, limit: int, offset: int) -> list[Post]:
        """The user's posts the viewer may see (404 when there is no such user)."""
        found = await self._posts.by_author(user_id, viewer.id, limit, offset)
        if found is None:
            raise NotFound("no such user")
        return found

    async def in_group(self, viewer: User, group_id: int, limit: int, offset: int) -> list[Post]:
        await self._membership.require_member(group_id, viewer.id)
        return await self._posts.in_group(group_id, viewer.id, limit, offset)

    async def like(self, viewer: User, post_id: int) -> bool:
        """Like a post (True when the like is new). The author hears of it once per liker, not
        for their own post, not on a repeat."""
        post = await self.get(viewer, post_id)
        notice = _about(post, viewer, "post_like", f"{viewer.username} liked your post")
        liked = await self._posts.like(post_id, viewer.id, notice, self._now())
        if liked is None:
            raise _no_post()
        created, notified = liked
        self._notifications.notify(notified)
        return created

    async def unlike(self, viewer: User, post_id: int) -> None:
        await self.get(viewer, post_id)
        await self._posts.unlike(post_id, viewer.id)

    async def comment(self, viewer: User, post_id: int, new: Refusable[CreateComment]) -> Comment:
        """Comment on a post one may see (404 before a bad field); its author is notified
        `post_comment` (not of one's own comments on one's own post)."""
        post = await self.get(viewer, post_id)
        asked = accepted(new)
        message = f"{viewer.username} commented on your post"
        own = post.author.id == viewer.id
        notice = None if own else _about(post, viewer, "post_comment", message)
        try:
            added = await self._posts.add_comment(
                post_id, viewer, asked.content, asked.media_ids, notice, self._now()
            )
        except MediaNotClaimable as refused:
            raise InvalidRequest(str(refused)) from None
        if added is None:
            raise _no_post()
        comment, notified = added
        self._notifications.notify(notified)
        return comment

    async def comments(
        self, viewer: User, post_id: int, limit: int, offset: int
    ) -> Sequence[Comment]:
        await self.get(viewer, post_id)
        return await self._posts.comments(post_id, limit, offset)

    async def delete_comment(self, viewer: User, comment_id: int) -> None:
        """Delete a comment: its author or the post's author may (404 when the viewer cannot
        see the post, 403 for anyone else who can)."""
        access = await self._posts.comment_access(comment_id, viewer.id)
        if access is None or not access.post_visible:
            raise NotFound("no such comment")
        if viewer.id not in (access.author_id, access.post_author_id):
            raise Forbidden("only the comment's author or the post's author may delete it")
        names = await self._posts.delete_comment(comment_id)
        if names is None:
            raise NotFound("no such comment")
        await self._media.discard(names)
