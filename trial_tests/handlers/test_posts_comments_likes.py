"""Likes and comments end to end on both engines: liking and unliking with the
counts and `liked_by_me` every read shows, comments with their limits, order, paging and
images, who may delete a comment, and the `post_like` and `post_comment` notifications, stored
and live on a real WebSocket, never to the one who acted."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from trial_tests.support.groups import RFC3339
from trial_tests.support.harness import PostgresEngine, SqliteEngine
from trial_tests.support.posts import COMMENT_KEYS, MEDIA_KEYS, SUMMARY_KEYS, PostTestMixin, ids


class LikeTests(PostTestMixin):
    async def test_like_is_201_then_200(self) -> None:
        """The first like is 201, a repeat 200 and counted once; like_count and liked_by_me (each
        viewer's own) agree in GET, the feed and the author's posts."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.follows(bob, alice)
        post_id = (await self.post(alice))["id"]
        expected = {"post_id": post_id, "liked": True}
        self.assertEqual(self.expect(await self.like(bob, post_id), 201), expected)
        self.assertEqual(self.expect(await self.like(bob, post_id), 200), expected)
        self.expect(await self.like(alice, post_id), 201)
        for person, mine in ((alice, True), (bob, True), (carol, False)):
            seen = await self.seen(person, post_id)
            self.assertEqual((seen["like_count"], seen["liked_by_me"]), (2, mine))
            (listed,) = self.expect(await person.client.get(f"/api/users/{alice.id}/posts"), 200)
            self.assertEqual(listed, seen)
        (in_feed,) = self.expect(await bob.client.get("/api/feed"), 200)
        self.assertEqual(in_feed, await self.seen(bob, post_id))

    async def test_counts_are_per_post(self) -> None:
        """A page of posts carries each post's own like and comment counts."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        first, second = [(await self.post(alice, name))["id"] for name in ("first", "second")]
        for person in (bob, carol):
            self.expect(await self.like(person, first), 201)
        await self.comment(bob, second)
        page = self.expect(await bob.client.get(f"/api/users/{alice.id}/posts"), 200)
        summary = [(p["id"], p["like_count"], p["comment_count"], p["liked_by_me"]) for p in page]
        self.assertEqual(summary, [(second, 0, 1, False), (first, 2, 0, True)])

    async def test_unlike_is_idempotent(self) -> None:
        """DELETE .../like is 204 whether or not there was a like, and the like is gone."""
        alice, bob = await self.start("alice", "bob")
        post_id = (await self.post(alice))["id"]
        self.expect(await self.like(bob, post_id), 201)
        for _ in range(2):
            self.expect(await self.unlike(bob, post_id), 204)
            seen = await self.seen(bob, post_id)
            self.assertEqual((seen["like_count"], seen["liked_by_me"]), (0, False))
        self.expect(await self.like(bob, post_id), 201)

    async def test_post_like_notifies_the_author_once(self) -> None:
        """A like notifies the author `post_like` (stored and live, naming the liker and the
        post); not a repeat, not a like withdrawn and given again, not one's own like."""
        alice, bob, eve = await self.start("alice", "bob", "eve")
        post_id = (await self.post(alice))["id"]
        alice_socket, bob_socket = await self.socket(alice), await self.socket(bob)
        self.expect(await self.like(bob, post_id), 201)
        frame = await self.next_notification(alice_socket, "post_like", bob)
        self.assertEqual(frame["post_id"], post_id)
        self.expect(await self.like(bob, post_id), 200)
        self.expect(await self.unlike(bob, post_id), 204)
        self.expect(await self.like(bob, post_id), 201)
        self.expect(await self.like(alice, post_id), 201)
        await self.barrier(alice_socket, alice, eve)
        await self.barrier(bob_socket, bob, eve)
        liked = [n for n in await self.notifications(alice) if n["type"] == "post_like"]
        self.assertEqual(len(liked), 1)
        self.assertEqual((liked[0]["actor_id"], liked[0]["post_id"]), (bob.id, post_id))
        self.assertIn("bob", liked[0]["message"])
        only_the_barrier = [n["type"] for n in await self.notifications(bob)]
        self.assertEqual(only_the_barrier, ["new_follower"])


class CommentTests(PostTestMixin):
    async def test_comment_is_201_with_the_comment(self) -> None:
        """A comment has every field of the comment object, counts on its post, and the list
        shows it as it was created."""
        alice, bob = await self.start("alice", "bob")
        post_id = (await self.post(alice))["id"]
        comment = await self.comment(bob, post_id, " Nice <i>one</i> ")
        self.assertEqual(set(comment), COMMENT_KEYS)
        self.assertEqual(set(comment["author"]), SUMMARY_KEYS)
        self.assertEqual((comment["post_id"], comment["author"]["id"]), (post_id, bob.id))
        self.assertEqual((comment["content"], comment["media"]), (" Nice <i>one</i> ", []))
        self.assertRegex(comment["created_at"], RFC3339)
        self.assertEqual(await self.comments(alice, post_id), [comment])
        self.assertEqual((await self.seen(alice, post_id))["comment_count"], 1)

    async def test_comment_content_limits(self) -> None:
        """Content is 1-4,000 code points (4,000 `é` too); empty, whitespace alone, too long, a
        control character, a non-string or missing content is 400 and stores nothing. An
        unknown post is 404 before that."""
        alice, bob = await self.start("alice", "bob")
        post_id = (await self.post(alice))["id"]
        for content in ("x" * 4_000, "é" * 4_000, "\tindented\n"):
            self.assertEqual((await self.comment(bob, post_id, content))["content"], content)
        for bad in ("", " \n\t\r ", "x" * 4_001, "a\x00", "\x1b[31m", 7, None):
            response = await self.try_comment(bob, post_id, bad)
            self.expect_error(response, 400, "invalid_request")
        response = await bob.client.post(f"/api/posts/{post_id}/comments", {})
        self.expect_error(response, 400, "invalid_request")
        self.expect_error(await self.try_comment(bob, 999_999, ""), 404, "not_found")
        self.assertEqual(len(await self.comments(alice, post_id)), 3)

    async def test_comments_are_oldest_first_and_paged(self) -> None:
        """Comments list oldest first, 50 by default, with limit and offset (limit=0 gives []);
        bad paging parameters are 400; only the post's own comments are listed."""
        alice, bob = await self.start("alice", "bob")
        post_id, other_id = [(await self.post(alice))["id"] for _ in range(2)]
        await self.comment(bob, other_id, "elsewhere")
        made = [(await self.comment(bob, post_id, f"c{number}"))["id"] for number in range(55)]
        self.assertEqual(ids(await self.comments(alice, post_id)), made[:50])
        self.assertEqual(ids(await self.comments(alice, post_id, "?limit=3&offset=52")), made[52:])
        self.assertEqual(await self.comments(alice, post_id, "?limit=0"), [])
        self.assertEqual(len(await self.comments(alice, post_id, "?limit=1000")), 55)
        for query in ("?limit=-1", "?limit=x", "?offset=-1"):
            response = await alice.client.get(f"/api/posts/{post_id}/comments{query}")
            self.expect_error(response, 400, "invalid_request")

    async def test_comment_media(self) -> None:
        """Comments take up to 4 of the commenter's own unattached uploads, in order; five,
        someone else's (the post author's too), one already used, or a repeat is 400 and
        stores no comment."""
        alice, bob = await self.start("alice", "bob")
        post_id = (await self.post(alice))["id"]
        mine = await self.uploads(bob, 5)
        (theirs,) = await self.uploads(alice, 1)
        order = [mine[3], mine[1], mine[0]]
        comment = await self.comment(bob, post_id, media_ids=[media["id"] for media in order])
        for shown, upload in zip(comment["media"], order, strict=True):
            self.assertEqual(shown, {key: upload[key] for key in MEDIA_KEYS})
        self.assertEqual((await self.comments(alice, post_id))[0]["media"], comment["media"])
        for media_ids in (
            [media["id"] for media in mine],
            [theirs["id"]],
            [mine[0]["id"]],
            [mine[2]["id"], mine[2]["id"]],
            [mine[2]["id"], 999_999],
        ):
            response = await self.try_comment(bob, post_id, media_ids=media_ids)
            self.expect_error(response, 400, "invalid_request")
        self.assertEqual(len(await self.comments(alice, post_id)), 1)
        self.assertEqual(
            len((await self.comment(bob, post_id, media_ids=[mine[2]["id"]]))["media"]), 1
        )

    async def test_post_comment_notifies_the_author(self) -> None:
        """A comment notifies the post's author `post_comment` (stored and live, naming the
        commenter and the post), each time; the author's own comments notify nobody."""
        alice, bob, eve = await self.start("alice", "bob", "eve")
        post_id = (await self.post(alice))["id"]
        alice_socket, bob_socket = await self.socket(alice), await self.socket(bob)
        for _ in range(2):
            await self.comment(bob, post_id)
            frame = await self.next_notification(alice_socket, "post_comment", bob)
            self.assertEqual(frame["post_id"], post_id)
        await self.comment(alice, post_id)
        await self.barrier(alice_socket, alice, eve)
        await self.barrier(bob_socket, bob, eve)
        commented = [n for n in await self.notifications(alice) if n["type"] == "post_comment"]
        self.assertEqual(
            [(n["actor_id"], n["post_id"]) for n in commented], [(bob.id, post_id)] * 2
        )
        only_the_barrier = [n["type"] for n in await self.notifications(bob)]
        self.assertEqual(only_the_barrier, ["new_follower"])

    async def test_who_deletes_a_comment(self) -> None:
        """The comment's author and the post's author may delete it (204, with its images, rows
        and files); anyone else who sees the post gets 403, someone who cannot 404, and an
        unknown comment is 404."""
        alice, bob, carol, eve = await self.start("alice", "bob", "carol", "eve")
        for person in (bob, carol):
            await self.follows(person, alice)
        post_id = (await self.post(alice, privacy="followers"))["id"]
        (image,) = await self.uploads(bob, 1)
        by_bob = await self.comment(bob, post_id, media_ids=[image["id"]])
        second = await self.comment(bob, post_id)
        self.expect_error(await self.delete_comment(carol, by_bob["id"]), 403, "forbidden")
        self.expect_error(await self.delete_comment(eve, by_bob["id"]), 404, "not_found")
        self.assertEqual(len(self.files()), 1)
        self.expect(await self.delete_comment(bob, by_bob["id"]), 204)
        self.assertEqual(self.files(), set())
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM media"), 0)
        self.expect(await self.delete_comment(alice, second["id"]), 204)
        for person in (alice, bob):
            self.expect_error(await self.delete_comment(person, second["id"]), 404, "not_found")
        self.assertEqual(await self.comments(alice, post_id), [])
        self.assertEqual((await self.seen(alice, post_id))["comment_count"], 0)

    async def test_comment_routes_refuse_bad_bodies(self) -> None:
        """A comment body must be a JSON object: other JSON is 400, another type 415."""
        alice, bob = await self.start("alice", "bob")
        post_id = (await self.post(alice))["id"]
        path = f"/api/posts/{post_id}/comments"
        cases: list[tuple[bytes, str, int]] = [
            (b'["nice"]', "application/json", 400),
            (b"{", "application/json", 400),
            (b"content=nice", "application/x-www-form-urlencoded", 415),
        ]
        for data, content_type, status in cases:
            response = await bob.client.post(
                path, data=data, headers={"Content-Type": content_type}
            )
            self.assertEqual(response.status, status, response.raw)
        self.assertEqual(await self.comments(alice, post_id), [])


class LikeSqliteTests(SqliteEngine, LikeTests, TestCase):
    pass


class LikePostgresTests(PostgresEngine, LikeTests, TestCase):
    pass


class CommentSqliteTests(SqliteEngine, CommentTests, TestCase):
    pass


class CommentPostgresTests(PostgresEngine, CommentTests, TestCase):
    pass
