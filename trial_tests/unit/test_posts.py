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

    async def test_a_single_post_is_seen_by_exactly_its_audience(self) -> None:
        """Everyone else gets the 404 of a post that does not exist."""
        people, posts = await self.world()
        missing = await people["eve"].client.get("/api/posts/999999")
        seen: dict[str, set[str]] = {key: set() for key in posts}
        for name, person in people.items():
            for key, post_id in posts.items():
                response = await person.client.get(f"/api/posts/{post_id}")
                if response.status == 200:
                    seen[key].add(name)
                else:
                    self.assertEqual((response.status, response.raw), (404, missing.raw))
        self.assertEqual(seen, VISIBLE)

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
