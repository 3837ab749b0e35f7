"""Post routes: posts, the feed, likes and comments.

Route function names are unique across the whole Api: Klein keys its endpoints by them.
"""

from __future__ import annotations

from collections.abc import Iterable

from socialhub.handlers.posts import Posts
from socialhub.http.api import Api, Call, Reply
from socialhub.http.rest import bodies
from socialhub.http.schemas import PAGE
from socialhub.http.views import comment_object, post_object
from socialhub.storage.stores.posts import Post
from socialhub.validation import page, parse_path_id

DEFAULT_LIMIT = 20
COMMENTS_DEFAULT_LIMIT = 50
NO_CONTENT = Reply(status=204)


def _id(call: Call, name: str) -> int:
    return parse_path_id(call.path[name])


def _posts(posts: Iterable[Post]) -> list[dict[str, object]]:
    return [post_object(post) for post in posts]


def register_routes(api: Api, posts: Posts) -> None:
    @api.route("/api/posts", "POST", ok=201, body=bodies.create_post)
    async def create_post(call: Call) -> Reply:
        post = await posts.create(call.user_viewer.user, bodies.create_post(call.body))
        return Reply(body=post_object(post), status=201)

    @api.route("/api/posts/<post_id>", "GET")
    async def get_post(call: Call) -> object:
        return post_object(await posts.get(call.user_viewer.user, _id(call, "post_id")))

    @api.route("/api/posts/<post_id>", "DELETE", ok=204)
    async def delete_post(call: Call) -> Reply:
        await posts.delete(call.user_viewer.user, _id(call, "post_id"))
        return NO_CONTENT

    @api.route("/api/feed", "GET", query=PAGE)
    async def get_feed(call: Call) -> object:
        limit, offset = page(call.query, DEFAULT_LIMIT)
        return _posts(await posts.feed(call.user_viewer.user, limit, offset))

    @api.route("/api/users/<user_id>/posts", "GET", query=PAGE)
    async def list_user_posts(call: Call) -> object:
        user_id = _id(call, "user_id")
        limit, offset = page(call.query, DEFAULT_LIMIT)
        return _posts(await posts.by_user(call.user_viewer.user, user_id, limit, offset))

    @api.route("/api/groups/<group_id>/posts", "GET", query=PAGE)
    async def list_group_posts(call: Call) -> object:
        group_id = _id(call, "group_id")
        limit, offset = page(call.query, DEFAULT_LIMIT)
        return _posts(await posts.in_group(call.user_viewer.user, group_id, limit, offset))

    @api.route("/api/posts/<post_id>/like", "POST", ok=(200, 201))
    async def like_post(call: Call) -> Reply:
        post_id = _id(call, "post_id")
        created = await posts.like(call.user_viewer.user, post_id)
        return Reply(body={"post_id": post_id, "liked": True}, status=201 if created else 200)

    @api.route("/api/posts/<post_id>/like", "DELETE", ok=204)
    async def unlike_post(call: Call) -> Reply:
        await posts.unlike(call.user_viewer.user, _id(call, "post_id"))
        return NO_CONTENT

    @api.route("/api/posts/<post_id>/comments", "POST", ok=201, body=bodies.create_comment)
    async def add_comment(call: Call) -> Reply:
        new = bodies.create_comment(call.body)
        comment = await posts.comment(call.user_viewer.user, _id(call, "post_id"), new)
        return Reply(body=comment_object(comment), status=201)

    @api.route("/api/posts/<post_id>/comments", "GET", query=PAGE)
    async def list_comments(call: Call) -> object:
        post_id = _id(call, "post_id")
        limit, offset = page(call.query, COMMENTS_DEFAULT_LIMIT)
        found = await posts.comments(call.user_viewer.user, post_id, limit, offset)
        return [comment_object(comment) for comment in found]

    @api.route("/api/comments/<comment_id>", "DELETE", ok=204)
    async def delete_comment(call: Call) -> Reply:
        await posts.delete_comment(call.user_viewer.user, _id(call, "comment_id"))
        return NO_CONTENT
