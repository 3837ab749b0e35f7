"""Who sees which post: public, followers-only, private to a list, and group posts."""

from __future__ import annotations

from typing import Any

from trial_tests.support.case import MemoryCase, Person

CAST = ("alice", "pat", "bob", "carol", "eve", "gina", "nora")
# alice is public and owns a group with gina in it; nora asked to join it and is not a member
# yet; pat is private. bob and carol follow both; carol is the one listed on private posts;
# eve is a stranger.
VISIBLE = {
    "alice public": set(CAST),
    "alice followers": {"alice", "bob", "carol"},
    "alice private": {"alice", "carol"},
    "alice group": {"alice", "gina"},
    "pat public": {"pat", "bob", "carol"},
    "pat private": {"pat", "carol"},
}
# Whose feed each author's posts belong in, visibility aside: the author and their accepted
# followers, or for a group post the group's members.
FEED_AUDIENCE = {
    "alice": {"alice", "bob", "carol"},
    "pat": {"pat", "bob", "carol"},
    "group": {"alice", "gina"},
}


class PostVisibilityTests(MemoryCase):
    async def world(self) -> tuple[dict[str, Person], dict[str, int]]:
        people = dict(zip(CAST, await self.start(*CAST), strict=True))
        alice, pat, bob, carol = (people[name] for name in ("alice", "pat", "bob", "carol"))
        await self.make_private(pat)
        for follower in (bob, carol):
            self.expect(await self.follow(follower, alice), 201)
            self.expect(await self.follow(follower, pat), 202)
            accept = f"/api/follow-requests/{follower.id}/accept"
            self.expect(await pat.client.post(accept), 204)
        group_id = await self.create_group(alice)
        await self.add_member(alice, group_id, people["gina"])
        self.expect(await people["nora"].client.post(f"/api/groups/{group_id}/join"), 202)
        posts = {}
        for key in VISIBLE:
            name, kind = key.split()
            body: dict[str, Any] = {"content": key}
            if kind == "group":
                body["group_id"] = group_id
            else:
                body["privacy"] = kind
            if kind == "private":
                body["allowed_user_ids"] = [carol.id]
            post = self.expect(await people[name].client.post("/api/posts", body), 201)
            posts[key] = post["id"]
        return people, posts

    async def seen(self, people: dict[str, Person], posts: dict[str, int]) -> dict[str, set[str]]:
        """Who gets each post by id; everyone else gets the 404 of a post that does not exist."""
        missing = await people["eve"].client.get("/api/posts/999999")
        seen: dict[str, set[str]] = {key: set() for key in posts}
        for name, person in people.items():
            for key, post_id in posts.items():
                response = await person.client.get(f"/api/posts/{post_id}")
                if response.status == 200:
                    seen[key].add(name)
                else:
                    self.assertEqual((response.status, response.raw), (404, missing.raw))
        return seen

    async def test_a_single_post_is_seen_by_exactly_its_audience(self) -> None:
        people, posts = await self.world()
        self.assertEqual(await self.seen(people, posts), VISIBLE)

    async def test_a_block_hides_the_blockers_posts_from_the_blocked_only(self) -> None:
        """alice blocks eve, pat blocks bob: eve loses alice's posts and bob pat's (his follow
        goes with the block); everyone else, bob included for alice's, sees what they saw."""
        people, posts = await self.world()
        await self.block(people["alice"], people["eve"])
        await self.block(people["pat"], people["bob"])
        expected = {
            key: viewers - ({"eve"} if key.startswith("alice") else {"bob"})
            for key, viewers in VISIBLE.items()
        }
        self.assertEqual(await self.seen(people, posts), expected)

    async def test_a_private_post_is_for_the_followers_it_lists(self) -> None:
        """Being listed on one private post does not open another: carol, listed on "alice
        private", does not see the one that lists bob alone."""
        people, _ = await self.world()
        body = {"content": "for bob", "privacy": "private", "allowed_user_ids": [people["bob"].id]}
        post = self.expect(await people["alice"].client.post("/api/posts", body), 201)
        seen = await self.seen(people, {"for bob": post["id"]})
        self.assertEqual(seen, {"for bob": {"alice", "bob"}})

    async def test_the_authors_list_agrees(self) -> None:
        """GET /api/users/{id}/posts holds the author's posts the viewer may see, group ones too."""
        people, posts = await self.world()
        names = {post_id: key for key, post_id in posts.items()}
        for name, person in people.items():
            for author in ("alice", "pat"):
                response = await person.client.get(f"/api/users/{people[author].id}/posts")
                listed = {names[post["id"]] for post in self.expect(response, 200)}
                expected = {key for key, viewers in VISIBLE.items() if key.startswith(author + " ")}
                self.assertEqual(listed, {key for key in expected if name in VISIBLE[key]})

    async def test_the_feed_holds_what_is_visible_of_its_audience(self) -> None:
        people, posts = await self.world()
        names = {post_id: key for key, post_id in posts.items()}
        for name, person in people.items():
            feed = {
                names[post["id"]] for post in self.expect(await person.client.get("/api/feed"), 200)
            }
            expected = {
                key
                for key, viewers in VISIBLE.items()
                if name in viewers
                and name in FEED_AUDIENCE["group" if key.endswith("group") else key.split()[0]]
            }
            self.assertEqual(feed, expected, name)

    async def test_access_ends_with_the_follow(self) -> None:
        people, posts = await self.world()
        carol, alice = people["carol"], people["alice"]
        self.expect(await self.unfollow(carol, alice), 204)
        for key in ("alice followers", "alice private"):
            response = await carol.client.get(f"/api/posts/{posts[key]}")
            self.expect_error(response, 404, "not_found")
        self.expect(await carol.client.get(f"/api/posts/{posts['alice public']}"), 200)

    async def test_a_profile_gone_private_hides_its_public_posts(self) -> None:
        people, posts = await self.world()
        await self.make_private(people["alice"])
        public = f"/api/posts/{posts['alice public']}"
        self.expect_error(await people["eve"].client.get(public), 404, "not_found")
        self.expect(await people["bob"].client.get(public), 200)
        await self.make_private(people["alice"], False)
        self.expect(await people["eve"].client.get(public), 200)


class PostRuleTests(MemoryCase):
    async def test_a_private_post_lists_accepted_followers_only(self) -> None:
        """allowed_user_ids naming a stranger or a pending requester is 400; followers are fine."""
        alice, bob, carol, eve = await self.start("alice", "bob", "carol", "eve")
        await self.make_private(alice)
        self.expect(await self.follow(bob, alice), 202)
        self.expect(await alice.client.post(f"/api/follow-requests/{bob.id}/accept"), 204)
        self.expect(await self.follow(carol, alice), 202)
        for stranger in (carol, eve):
            body = {"content": "x", "privacy": "private", "allowed_user_ids": [stranger.id]}
            self.expect_error(await alice.client.post("/api/posts", body), 400, "invalid_request")
        body = {"content": "x", "privacy": "private", "allowed_user_ids": [bob.id]}
        self.expect(await alice.client.post("/api/posts", body), 201)

    async def test_group_posts_are_for_accepted_members(self) -> None:
        """Posting to a group: 404 unknown, 403 for an invitee; its list is 403 to non-members."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        group_id = await self.create_group(alice)
        await self.add_member(alice, group_id, bob)
        self.expect(await self.invite(alice, group_id, carol), 201)
        post = {"content": "x", "group_id": group_id}
        self.expect_error(await carol.client.post("/api/posts", post), 403, "forbidden")
        unknown = {"content": "x", "group_id": 999}
        self.expect_error(await carol.client.post("/api/posts", unknown), 404, "not_found")
        self.expect(await bob.client.post("/api/posts", post), 201)
        listed = self.expect(await alice.client.get(f"/api/groups/{group_id}/posts"), 200)
        self.assertEqual(len(listed), 1)
        response = await carol.client.get(f"/api/groups/{group_id}/posts")
        self.expect_error(response, 403, "forbidden")

    async def test_a_hidden_post_cannot_be_liked_commented_or_deleted(self) -> None:
        """404 like a missing post for whoever may not see it; 403 to delete for one who may."""
        alice, bob, eve = await self.start("alice", "bob", "eve")
        self.expect(await self.follow(bob, alice), 201)
        body = {"content": "x", "privacy": "followers"}
        post_id = self.expect(await alice.client.post("/api/posts", body), 201)["id"]
        path = f"/api/posts/{post_id}"
        self.expect_error(await eve.client.post(path + "/like"), 404, "not_found")
        comment = await eve.client.post(path + "/comments", {"content": "hi"})
        self.expect_error(comment, 404, "not_found")
        self.expect_error(await eve.client.delete(path), 404, "not_found")
        self.expect_error(await bob.client.delete(path), 403, "forbidden")
        self.expect(await bob.client.post(path + "/like"), 201)
        self.expect(await alice.client.delete(path), 204)
