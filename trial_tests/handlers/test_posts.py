"""Posts end to end on both engines: creating (fields, privacy, groups, images),
reading, deleting with everything a post holds, the feed, a user's and a group's posts, the
`new_post` notification (stored and live on a real WebSocket, one statement for any number of
followers), and avatars (3a)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from twisted.trial.unittest import TestCase

from socialhub.storage.database import Transaction
from trial_tests.support.counting import CountingTransaction
from trial_tests.support.follows import INVALID_IDS
from trial_tests.support.groups import Person
from trial_tests.support.harness import PostgresEngine, SqliteEngine
from trial_tests.support.posts import MEDIA_KEYS, SUMMARY_KEYS, PostTestMixin

BULK_FOLLOWERS = 200


def file_name(media: dict[str, Any]) -> str:
    """The name on disk of an upload or media object (the last segment of its URL)."""
    name: str = media["url"].rsplit("/", 1)[-1]
    return name


class PostTests(PostTestMixin):
    async def test_create_answers_201_with_the_post(self) -> None:
        """A post has every field of the post object, defaults to public, no group, no media,
        no likes or comments; GET /api/posts/{id} gives the same object."""
        alice, bob = await self.start("alice", "bob")
        post = await self.post(alice, " Hello <b>world</b> ")
        self.check_post(post, alice, " Hello <b>world</b> ")
        self.assertEqual((post["privacy"], post["group_id"], post["media"]), ("public", None, []))
        self.assertEqual((post["like_count"], post["comment_count"]), (0, 0))
        self.assertIs(post["liked_by_me"], False)
        self.assertEqual(await self.seen(alice, post["id"]), post)
        self.assertEqual(await self.seen(bob, post["id"]), post)

    async def test_content_limits(self) -> None:
        """Content is 1-10,000 code points kept verbatim (10,000 `é` too); empty, whitespace
        alone, too long, a control character, a non-string or a missing content is 400 and
        stores nothing."""
        (alice,) = await self.start("alice")
        for content in ("x" * 10_000, "é" * 10_000, "tab\tnew\nline\r", "😀"):
            self.assertEqual((await self.post(alice, content))["content"], content)
        for bad in ("", "   \n\t", "x" * 10_001, "nul\x00", "bell\x07", 5, ["x"], None):
            response = await self.try_post(alice, bad)
            self.expect_error(response, 400, "invalid_request")
        lone_surrogate = rb'{"content": "a\ud800"}'
        json_type = {"Content-Type": "application/json"}
        response = await alice.client.post("/api/posts", data=lone_surrogate, headers=json_type)
        self.expect_error(response, 400, "invalid_request")
        self.assertEqual(len(await self.posts_of(alice, alice)), 4)

    async def test_privacy_levels_and_their_refusals(self) -> None:
        """`privacy` is public, followers or private (null means public); anything else is 400,
        and so are allowed_user_ids with another privacy, a non-list, repeats or non-ids."""
        alice, bob = await self.start("alice", "bob")
        await self.follows(bob, alice)
        for privacy in ("public", "followers", "private"):
            self.assertEqual((await self.post(alice, privacy=privacy))["privacy"], privacy)
        self.assertEqual((await self.post(alice, privacy=None))["privacy"], "public")
        bad_fields: list[dict[str, Any]] = [
            {"privacy": "friends"},
            {"privacy": "PUBLIC"},
            {"privacy": 1},
            {"privacy": "public", "allowed_user_ids": [bob.id]},
            {"privacy": "followers", "allowed_user_ids": []},
            {"privacy": "private", "allowed_user_ids": bob.id},
            {"privacy": "private", "allowed_user_ids": [bob.id, bob.id]},
            {"privacy": "private", "allowed_user_ids": [True]},
            {"privacy": "private", "allowed_user_ids": [0]},
        ]
        for fields in bad_fields:
            self.expect_error(await self.try_post(alice, **fields), 400, "invalid_request")
        self.assertEqual(len(await self.posts_of(alice, alice)), 4)

    async def test_allowed_users_must_be_accepted_followers(self) -> None:
        """A private post may list accepted followers only: a pending requester, someone who
        does not follow, someone the author follows, the author, an unknown id are each 400 and
        store nothing; accepted followers are fine (the list may also be empty)."""
        alice, bob, carol, dave, eve = await self.start("alice", "bob", "carol", "dave", "eve")
        await self.make_private(alice)
        for follower in (bob, carol):
            await self.asks(follower, alice)
            self.expect(await self.answer(alice, follower, "accept"), 204)
        await self.asks(dave, alice)
        await self.follows(alice, eve)
        for outsider in (dave.id, eve.id, alice.id, 999_999):
            response = await self.try_post(
                alice, privacy="private", allowed_user_ids=[bob.id, outsider]
            )
            self.expect_error(response, 400, "invalid_request")
        self.assertEqual(await self.posts_of(alice, alice), [])
        await self.post(alice, privacy="private", allowed_user_ids=[bob.id, str(carol.id)])
        await self.post(alice, privacy="private", allowed_user_ids=[])
        self.assertEqual(len(await self.posts_of(alice, alice)), 2)

    async def test_group_posts(self) -> None:
        """A member posts into a group (201, with its group_id, public). An unknown group is 404
        and a non-member (invited, requesting, outsider) 403, before a bad field's 400; a
        privacy other than public, or allowed users, with a group is 400."""
        owner, member, invitee, outsider = await self.start("owner", "member", "invitee", "outs")
        group_id = (await self.create_group(owner))["id"]
        await self.add_member(owner, group_id, member)
        self.expect(await self.invite(owner, group_id, invitee), 201)
        post = await self.post(member, "in the group", group_id=str(group_id))
        self.assertEqual((post["group_id"], post["privacy"]), (group_id, "public"))
        self.assertEqual(
            (await self.post(owner, group_id=group_id, privacy="public"))["privacy"], "public"
        )
        for person in (invitee, outsider):
            for content in ("hi", ""):
                response = await self.try_post(person, content, group_id=group_id)
                self.expect_error(response, 403, "forbidden")
        for bad_group in (999_999, "999999"):
            response = await self.try_post(member, "", group_id=bad_group)
            self.expect_error(response, 404, "not_found")
        for fields in (
            {"privacy": "followers"},
            {"privacy": "private", "allowed_user_ids": []},
            {"allowed_user_ids": [owner.id]},
        ):
            response = await self.try_post(member, group_id=group_id, **fields)
            self.expect_error(response, 400, "invalid_request")
        for bad_id in (0, -1, "abc", True, 1.5):
            response = await self.try_post(member, group_id=bad_id)
            self.expect_error(response, 400, "invalid_request")
        self.assertEqual(len(await self.listed(owner, f"/api/groups/{group_id}/posts")), 2)

    async def test_unknown_or_invalid_post_ids_are_404(self) -> None:
        """Every post route answers 404 for an unknown post or a path id that is not an id,
        even with a body that would be refused as invalid."""
        (alice,) = await self.start("alice")
        await self.post(alice)
        for bad in INVALID_IDS:
            for method, path in (
                ("GET", f"/api/posts/{bad}"),
                ("DELETE", f"/api/posts/{bad}"),
                ("POST", f"/api/posts/{bad}/like"),
                ("DELETE", f"/api/posts/{bad}/like"),
                ("POST", f"/api/posts/{bad}/comments"),
                ("GET", f"/api/posts/{bad}/comments"),
                ("DELETE", f"/api/comments/{bad}"),
                ("GET", f"/api/users/{bad}/posts"),
                ("GET", f"/api/groups/{bad}/posts"),
            ):
                response = await alice.client.request(method, path, json={"content": ""})
                self.expect_error(response, 404, "not_found")

    async def test_every_route_needs_a_session(self) -> None:
        """Without a session every post route answers 401, before any 404 or 400."""
        (alice,) = await self.start("alice")
        post_id = (await self.post(alice))["id"]
        anonymous = self.running.client()
        for method, path in (
            ("POST", "/api/posts"),
            ("GET", f"/api/posts/{post_id}"),
            ("DELETE", f"/api/posts/{post_id}"),
            ("GET", "/api/feed"),
            ("GET", f"/api/users/{alice.id}/posts"),
            ("GET", "/api/groups/1/posts"),
            ("POST", f"/api/posts/{post_id}/like"),
            ("DELETE", f"/api/posts/{post_id}/like"),
            ("POST", f"/api/posts/{post_id}/comments"),
            ("GET", f"/api/posts/{post_id}/comments"),
            ("DELETE", "/api/comments/1"),
            ("GET", "/api/posts/abc"),
        ):
            response = await anonymous.request(method, path, json={"content": ""})
            self.expect_error(response, 401, "unauthorized")
        self.assertEqual(len(await self.posts_of(alice, alice)), 1)

    async def test_deleting_a_post_removes_everything_it_holds(self) -> None:
        """The author's DELETE (204) removes the post, its comments, likes, allowed readers,
        notifications, and its and its comments' images, rows and files; other uploads stay."""
        alice, bob = await self.start("alice", "bob")
        await self.follows(bob, alice)
        kept, *attached = await self.uploads(alice, 3)
        (commented,) = await self.uploads(bob, 1)
        post_ids = [media["id"] for media in attached]
        post = await self.post(
            alice, privacy="private", allowed_user_ids=[bob.id], media_ids=post_ids
        )
        comment = await self.comment(bob, post["id"], media_ids=[commented["id"]])
        self.expect(await self.like(bob, post["id"]), 201)
        self.expect(await self.like(alice, post["id"]), 201)
        self.assertEqual(len(self.files()), 4)
        self.assertEqual(len(await self.notifications(alice)), 3)  # follow, like, comment
        self.expect(await self.delete_post(alice, post["id"]), 204)
        self.expect_error(await self.get_post(alice, post["id"]), 404, "not_found")
        self.expect_error(await self.delete_post(alice, post["id"]), 404, "not_found")
        for table in ("comments", "likes", "post_allowed_users", "notifications", "media"):
            rows = await self.count_rows(
                f"SELECT COUNT(*) FROM {table} WHERE post_id = ?", post["id"]
            )
            self.assertEqual(rows, 0, table)
        self.assertEqual(
            await self.count_rows("SELECT COUNT(*) FROM media WHERE comment_id = ?", comment["id"]),
            0,
        )
        self.assertEqual(self.files(), {file_name(kept)})
        self.assertEqual(await self.notifications(bob), [])
        self.assertEqual([n["type"] for n in await self.notifications(alice)], ["new_follower"])
        self.expect_error(await self.delete_comment(bob, comment["id"]), 404, "not_found")

    async def test_only_the_author_deletes(self) -> None:
        """Someone who can see the post gets 403, someone who cannot 404 (no leak); the post and
        its comments stay."""
        alice, bob, eve = await self.start("alice", "bob", "eve")
        await self.follows(bob, alice)
        post_id = (await self.post(alice, privacy="followers"))["id"]
        await self.comment(bob, post_id)
        self.expect_error(await self.delete_post(bob, post_id), 403, "forbidden")
        self.expect_error(await self.delete_post(eve, post_id), 404, "not_found")
        self.assertEqual((await self.seen(alice, post_id))["comment_count"], 1)

    async def test_feed_has_own_followed_and_group_posts_newest_first(self) -> None:
        """The feed holds the viewer's own posts, those of whom they follow (accepted) that they
        may see, and their groups' posts, newest first; not the posts of strangers, of a
        pending follow, of a group they are not in, or hidden ones."""
        viewer, friend, shy, stranger, member = await self.start(
            "viewer", "friend", "shy", "stranger", "member"
        )
        await self.make_private(shy)
        await self.follows(viewer, friend)
        await self.asks(viewer, shy)
        group_id = (await self.create_group(member, "Club"))["id"]
        other_group = (await self.create_group(member, "Other"))["id"]
        await self.add_member(member, group_id, viewer)
        expected = [
            (await self.post(viewer, "mine"))["id"],
            (await self.post(friend, "public"))["id"],
            (await self.post(friend, "followers", privacy="followers"))["id"],
            (await self.post(member, "club", group_id=group_id))["id"],
            (await self.post(viewer, "mine in club", group_id=group_id))["id"],
        ]
        await self.post(friend, "to nobody", privacy="private")
        await self.post(friend, "elsewhere", group_id=(await self.create_group(friend, "F"))["id"])
        await self.post(shy, "private profile")
        strangers = (await self.post(stranger, "stranger"))["id"]
        await self.post(member, "other group", group_id=other_group)
        self.assertEqual(await self.feed(viewer), expected[::-1])
        self.assertEqual(await self.feed(stranger), [strangers])

    async def test_feed_paging(self) -> None:
        """The feed's default limit is 20; limit and offset page it (limit=0 gives []); a bad
        limit or offset is 400."""
        (alice,) = await self.start("alice")
        created = [(await self.post(alice, f"post {number}"))["id"] for number in range(25)]
        newest_first = created[::-1]
        self.assertEqual(await self.feed(alice), newest_first[:20])
        self.assertEqual(await self.feed(alice, "?limit=5&offset=20"), newest_first[20:])
        self.assertEqual(await self.feed(alice, "?limit=0"), [])
        self.assertEqual(await self.feed(alice, "?limit=1000"), newest_first)
        for query in ("?limit=-1", "?limit=x", "?offset=-1", "?offset=1.5"):
            self.expect_error(await alice.client.get("/api/feed" + query), 400, "invalid_request")

    async def test_a_users_posts(self) -> None:
        """GET /api/users/{id}/posts lists the posts of that user only, newest first, paged; an
        unknown user is 404."""
        alice, bob = await self.start("alice", "bob")
        mine = [(await self.post(alice, f"a{number}"))["id"] for number in range(3)]
        await self.post(bob, "b")
        self.assertEqual(await self.posts_of(bob, alice), mine[::-1])
        self.assertEqual(await self.posts_of(bob, alice, "?limit=1&offset=1"), [mine[1]])
        self.expect_error(await alice.client.get("/api/users/999999/posts"), 404, "not_found")

    async def test_a_groups_posts(self) -> None:
        """GET /api/groups/{id}/posts lists the group's posts, newest first, to its members only
        (403 for invitees, requesters and outsiders; 404 for an unknown group)."""
        owner, member, invitee, requester, outsider = await self.start(
            "owner", "member", "invitee", "req", "outs"
        )
        group_id = (await self.create_group(owner))["id"]
        await self.add_member(owner, group_id, member)
        self.expect(await self.invite(owner, group_id, invitee), 201)
        await self.request_to_join(requester, group_id)
        posted = [
            (await self.post(owner, "first", group_id=group_id))["id"],
            (await self.post(member, "second", group_id=group_id))["id"],
        ]
        await self.post(owner, "not in the group")
        path = f"/api/groups/{group_id}/posts"
        for person in (owner, member):
            self.assertEqual(await self.listed(person, path), posted[::-1])
        self.assertEqual(await self.listed(member, path + "?limit=1"), [posted[1]])
        for person in (invitee, requester, outsider):
            self.expect_error(await person.client.get(path), 403, "forbidden")
        self.expect_error(await owner.client.get("/api/groups/999999/posts"), 404, "not_found")

    async def test_new_post_notifies_the_followers_who_can_see_it(self) -> None:
        """`new_post` goes to each accepted follower who may see the post, stored and live:
        both followers for public and followers posts, only the listed one for a private post,
        nobody for a group post, and never the author, a pending requester or a stranger."""
        alice, bob, carol, dave, eve = await self.start("alice", "bob", "carol", "dave", "eve")
        await self.make_private(alice)
        for follower in (bob, carol):
            await self.asks(follower, alice)
            self.expect(await self.answer(alice, follower, "accept"), 204)
        await self.asks(dave, alice)
        group_id = (await self.create_group(alice))["id"]
        await self.add_member(alice, group_id, bob)
        sockets = {
            person.username: await self.socket(person) for person in (alice, bob, carol, dave, eve)
        }
        public = (await self.post(alice, privacy="public"))["id"]
        followers = (await self.post(alice, privacy="followers"))["id"]
        private = (await self.post(alice, privacy="private", allowed_user_ids=[carol.id]))["id"]
        await self.post(alice, group_id=group_id)
        for person, expected in ((bob, [public, followers]), (carol, [public, followers, private])):
            for post_id in expected:
                frame = await self.next_notification(sockets[person.username], "new_post", alice)
                self.assertEqual(frame["post_id"], post_id)
            stored = [n for n in await self.notifications(person) if n["type"] == "new_post"]
            self.assertEqual([n["post_id"] for n in stored], expected[::-1])
            self.assertTrue(all(n["actor_id"] == alice.id for n in stored))
        await self.barrier(sockets["bob"], bob, eve)
        await self.barrier(sockets["eve"], eve, bob)
        await self.barrier(sockets["dave"], dave, eve)
        await self.barrier(sockets["alice"], alice, eve)
        for person in (alice, dave, eve):
            self.assertNotIn("new_post", [n["type"] for n in await self.notifications(person)])

    async def test_new_post_is_stored_for_any_number_of_followers_in_one_statement(self) -> None:
        """Creating a post runs as many statements for 200 followers as for one (the
        notifications are one INSERT ... SELECT), stores one `new_post` for each, and pushes
        them after the commit."""
        alice, bob = await self.start("alice", "bob")
        await self.follows(bob, alice)
        socket = await self.socket(bob)
        counted = self.count_statements("create_post")
        first = (await self.post(alice))["id"]
        await self.add_bulk_followers(alice, BULK_FOLLOWERS)
        second = (await self.post(alice))["id"]
        self.assertEqual(len(counted), 2)
        self.assertEqual(counted[0], counted[1])
        self.assertLessEqual(counted[1], 5)
        for post_id, recipients in ((first, 1), (second, BULK_FOLLOWERS + 1)):
            stored = await self.count_rows(
                "SELECT COUNT(*) FROM notifications WHERE post_id = ?", post_id
            )
            self.assertEqual(stored, recipients)
        for post_id in (first, second):
            frame = await self.next_notification(socket, "new_post", alice)
            self.assertEqual(frame["post_id"], post_id)

    def count_statements(self, description: str) -> list[int]:
        """Count the statements of each interaction named `description` from now on: the list
        gets one number per interaction run."""
        database = self.running.server.database
        original: Callable[..., Awaitable[Any]] = database.interaction
        counted: list[int] = []

        async def counting(name: str, body: Callable[[Transaction], Awaitable[Any]]) -> Any:
            if name != description:
                return await original(name, body)

            async def counted_body(txn: Transaction) -> Any:
                counter = CountingTransaction(txn)
                result = await body(counter)
                counted.append(counter.statements)
                return result

            return await original(name, counted_body)

        self.patch(database, "interaction", counting)
        return counted

    async def add_bulk_followers(self, person: Person, count: int) -> None:
        """`count` new users, straight into the database, each an accepted follower of `person`."""

        async def insert(txn: Transaction) -> None:
            await txn.run(
                "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
                " INSERT INTO users (username, username_key, email, email_key, password_hash,"
                " display_name, created_at)"
                " SELECT 'bulk' || i, 'bulk' || i, 'bulk' || i || '@example.org',"
                " 'bulk' || i || '@example.org', 'x', 'bulk', 0 FROM n",
                (count,),
            )
            await txn.run(
                "INSERT INTO follows (follower_id, followee_id, status, created_at)"
                " SELECT id, ?, 'accepted', 0 FROM users WHERE username_key LIKE 'bulk%'",
                (person.id,),
            )

        await self.running.server.database.interaction("bulk_followers", insert)

    async def test_media_ids_attach_own_uploads_in_order(self) -> None:
        """Up to 4 of one's own uploads are attached in the order given, as media objects that
        GET and the lists show too."""
        (alice,) = await self.start("alice")
        uploads = await self.uploads(alice, 4)
        order = [uploads[2], uploads[0], uploads[3], uploads[1]]
        post = await self.post(alice, media_ids=[media["id"] for media in order])
        self.assertEqual(len(post["media"]), 4)
        for shown, upload in zip(post["media"], order, strict=True):
            self.assertEqual(set(shown), MEDIA_KEYS)
            self.assertEqual(shown, {key: upload[key] for key in MEDIA_KEYS})
        self.assertEqual((await self.seen(alice, post["id"]))["media"], post["media"])
        (listed,) = self.expect(await alice.client.get("/api/feed"), 200)
        self.assertEqual(listed["media"], post["media"])

    async def test_media_ids_refusals(self) -> None:
        """Five ids, someone else's upload, an upload already in a post, a repeated id, an
        unknown id, or a value that is not a list of ids are each 400 and attach nothing: the
        uploads can still be used afterwards."""
        alice, bob = await self.start("alice", "bob")
        mine = [media["id"] for media in await self.uploads(alice, 5)]
        (theirs,) = [media["id"] for media in await self.uploads(bob, 1)]
        used = (await self.post(alice, media_ids=[mine[4]]))["media"]
        for media_ids in (
            mine,
            [mine[0], theirs],
            [mine[0], mine[4]],
            [mine[0], mine[0]],
            [mine[0], 999_999],
            "1",
            [None],
            None,
        ):
            response = await self.try_post(alice, media_ids=media_ids)
            self.expect_error(response, 400, "invalid_request")
        self.assertEqual(len(await self.posts_of(alice, alice)), 1)
        reused = await self.post(alice, media_ids=mine[:4])
        self.assertEqual(len(reused["media"]), 4)
        self.assertEqual(len(used), 1)

    async def test_avatar(self) -> None:
        """PATCH avatar_media_id sets avatar_url (the upload's URL) in the user object and in
        every user-summary (posts, comments, group members); it must be one's own unattached
        upload (400 and no change otherwise); an avatar cannot then go into a post; null
        removes it."""
        alice, bob = await self.start("alice", "bob")
        avatar, attached = await self.uploads(alice, 2)
        (theirs,) = await self.uploads(bob, 1)
        post = await self.post(alice, media_ids=[attached["id"]])
        for refused in (theirs["id"], attached["id"], 999_999, "x", 0, True):
            response = await self.patch_me(alice, {"avatar_media_id": refused, "about": "changed"})
            self.expect_error(response, 400, "invalid_request")
        self.assertEqual((await self.user_seen_by(alice, alice))["about"], "")
        user = self.expect(await self.patch_me(alice, {"avatar_media_id": str(avatar["id"])}), 200)
        self.assertEqual(user["avatar_url"], avatar["url"])
        self.assertEqual((await self.user_seen_by(bob, alice))["avatar_url"], avatar["url"])
        self.assertEqual((await self.seen(bob, post["id"]))["author"]["avatar_url"], avatar["url"])
        comment = await self.comment(alice, post["id"])
        self.assertEqual(comment["author"]["avatar_url"], avatar["url"])
        group_id = (await self.create_group(alice))["id"]
        (member,) = self.expect(await alice.client.get(f"/api/groups/{group_id}/members"), 200)
        self.assertEqual((set(member), member["avatar_url"]), (SUMMARY_KEYS, avatar["url"]))
        self.expect_error(
            await self.try_post(alice, media_ids=[avatar["id"]]), 400, "invalid_request"
        )
        self.assertEqual((await self.running.client().get(avatar["url"])).status, 200)
        self.assertIsNone(
            self.expect(await self.patch_me(alice, {"avatar_media_id": None}), 200)["avatar_url"]
        )
        self.assertIsNone((await self.seen(bob, post["id"]))["author"]["avatar_url"])
        self.assertIsNone((await self.user_seen_by(bob, bob))["avatar_url"])

    async def test_deleting_a_group_removes_its_posts_and_their_images(self) -> None:
        """A group's deletion takes its posts with their comments, likes, notifications and the
        images of posts and comments, rows and files."""
        owner, member = await self.start("owner", "member")
        group_id = (await self.create_group(owner))["id"]
        await self.add_member(owner, group_id, member)
        (image,) = await self.uploads(owner, 1)
        (comment_image,) = await self.uploads(member, 1)
        post_id = (await self.post(owner, group_id=group_id, media_ids=[image["id"]]))["id"]
        await self.comment(member, post_id, media_ids=[comment_image["id"]])
        self.expect(await self.like(member, post_id), 201)
        self.assertEqual(len(self.files()), 2)
        self.expect(await owner.client.request("DELETE", f"/api/groups/{group_id}"), 204)
        self.expect_error(await self.get_post(owner, post_id), 404, "not_found")
        self.assertEqual(self.files(), set())
        for table in ("posts", "comments", "likes", "media"):
            self.assertEqual(await self.count_rows(f"SELECT COUNT(*) FROM {table}"), 0, table)
        self.assertEqual(
            await self.count_rows("SELECT COUNT(*) FROM notifications WHERE post_id IS NOT NULL"), 0
        )


class PostSqliteTests(SqliteEngine, PostTests, TestCase):
    pass


class PostPostgresTests(PostgresEngine, PostTests, TestCase):
    pass
