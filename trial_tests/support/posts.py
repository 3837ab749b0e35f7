"""What the post, comment, like and visibility tests share: a server with a media directory of
its own, publishing, reading and reacting to posts, uploads, and reading rows straight from the
database to prove that deletions leave nothing behind."""

from __future__ import annotations

import os
from typing import Any

from socialhub.storage.database import Transaction
from trial_tests.support.follows import FollowTestMixin
from trial_tests.support.groups import RFC3339, Person
from trial_tests.support.harness import Response
from trial_tests.support.images import picture

POST_KEYS = {
    "id",
    "author",
    "content",
    "privacy",
    "group_id",
    "media",
    "created_at",
    "like_count",
    "comment_count",
    "liked_by_me",
}
COMMENT_KEYS = {"id", "post_id", "author", "content", "media", "created_at"}
SUMMARY_KEYS = {"id", "username", "display_name", "avatar_url"}
MEDIA_KEYS = {"url", "content_type", "width", "height"}


def ids(items: list[dict[str, Any]]) -> list[int]:
    """The ids of a list of posts or comments, in order."""
    return [item["id"] for item in items]


class PostTestMixin(FollowTestMixin):
    """A server with people in it who post, like and comment."""

    media_dir: str

    async def start(self, *names: str, **overrides: Any) -> list[Person]:
        """As SocialTestMixin.start, with a fresh media directory of this test's own."""
        self.media_dir = self.mktemp()
        return await super().start(*names, media_dir=self.media_dir, **overrides)

    async def try_post(self, person: Person, content: Any = "hello", **fields: Any) -> Response:
        """POST /api/posts with `content` (left out when None) and any other fields."""
        body = {"content": content, **fields} if content is not None else fields
        return await person.client.post("/api/posts", body)

    async def post(self, person: Person, content: str = "hello", **fields: Any) -> Any:
        """A new post of `person` (the request must succeed with 201)."""
        return self.expect(await self.try_post(person, content, **fields), 201)

    async def get_post(self, person: Person, post_id: int) -> Response:
        return await person.client.get(f"/api/posts/{post_id}")

    async def seen(self, person: Person, post_id: int) -> Any:
        """The post as `person` gets it (it must be visible to them)."""
        return self.expect(await self.get_post(person, post_id), 200)

    async def delete_post(self, person: Person, post_id: int) -> Response:
        return await person.client.request("DELETE", f"/api/posts/{post_id}")

    async def listed(self, person: Person, path: str) -> list[int]:
        """The ids of the posts (or comments) a list route gives `person` (it must be 200)."""
        return ids(self.expect(await person.client.get(path), 200))

    async def feed(self, person: Person, query: str = "") -> list[int]:
        return await self.listed(person, "/api/feed" + query)

    async def posts_of(self, viewer: Person, author: Person, query: str = "") -> list[int]:
        return await self.listed(viewer, f"/api/users/{author.id}/posts{query}")

    async def like(self, person: Person, post_id: int) -> Response:
        return await person.client.post(f"/api/posts/{post_id}/like")

    async def unlike(self, person: Person, post_id: int) -> Response:
        return await person.client.request("DELETE", f"/api/posts/{post_id}/like")

    async def try_comment(
        self, person: Person, post_id: int, content: Any = "nice", **fields: Any
    ) -> Response:
        body = {"content": content, **fields}
        return await person.client.post(f"/api/posts/{post_id}/comments", body)

    async def comment(
        self, person: Person, post_id: int, content: str = "nice", **fields: Any
    ) -> Any:
        """A new comment of `person` (the request must succeed with 201)."""
        return self.expect(await self.try_comment(person, post_id, content, **fields), 201)

    async def comments(self, person: Person, post_id: int, query: str = "") -> list[Any]:
        response = await person.client.get(f"/api/posts/{post_id}/comments{query}")
        result: list[Any] = self.expect(response, 200)
        return result

    async def delete_comment(self, person: Person, comment_id: int) -> Response:
        return await person.client.request("DELETE", f"/api/comments/{comment_id}")

    async def upload(self, person: Person, size: tuple[int, int] = (64, 48)) -> dict[str, Any]:
        """A PNG uploaded by `person`: the upload's body."""
        response = await person.client.post(
            "/api/media", data=picture("PNG", size), headers={"Content-Type": "image/png"}
        )
        result: dict[str, Any] = self.expect(response, 201)
        return result

    async def uploads(self, person: Person, count: int) -> list[dict[str, Any]]:
        return [await self.upload(person, (10 + number, 10)) for number in range(count)]

    def files(self) -> set[str]:
        """The names of the files in the media directory."""
        return set(os.listdir(self.media_dir))

    async def count_rows(self, sql: str, *args: object) -> int:
        """`SELECT COUNT(*) ...` straight from the server's database."""

        async def select(txn: Transaction) -> int:
            row = await txn.fetchone(sql, args)
            return int(row[0]) if row else 0

        result: int = await self.running.server.database.interaction("test_count", select)
        return result

    def check_post(self, post: dict[str, Any], author: Person, content: str) -> None:
        """Every field of a fresh post object of `author` with `content`."""
        self.assertEqual(set(post), POST_KEYS)
        self.assertEqual(set(post["author"]), SUMMARY_KEYS)
        self.assertEqual(
            (post["author"]["id"], post["author"]["username"]), (author.id, author.username)
        )
        self.assertEqual(post["content"], content)
        self.assertRegex(post["created_at"], RFC3339)
