"""Who sees which post (docs/privacy.md), end to end on both engines.

One cast and seven posts cover every privacy level and every kind of viewer: the visibility
matrix says who must see each post, and every read path must agree with it (a single post, the
feed, the author's posts, the group's posts, comments, likes). Then access that changes: an
unfollow, a profile going private, a member leaving, and the sameness of "hidden" and "missing".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from twisted.trial.unittest import TestCase

from trial_tests.support.groups import Person
from trial_tests.support.harness import PostgresEngine, Response, SqliteEngine
from trial_tests.support.posts import PostTestMixin

# alice: public profile, owns the group; pat: private profile; bob and carol follow both (carol
# is the one listed on private posts); dave's request to follow pat is pending; eve is a
# stranger; gina is a member of alice's group; nora asked to join it and is not a member yet.
CAST = ("alice", "pat", "bob", "carol", "dave", "eve", "gina", "nora")
EVERYONE = frozenset(CAST)
# Who must see each post.
VISIBLE: dict[str, frozenset[str]] = {
    "alice public": EVERYONE,
    "alice followers": frozenset({"alice", "bob", "carol"}),
    "alice private": frozenset({"alice", "carol"}),
    "alice group": frozenset({"alice", "gina"}),
    "pat public": frozenset({"pat", "bob", "carol"}),
    "pat followers": frozenset({"pat", "bob", "carol"}),
    "pat private": frozenset({"pat", "carol"}),
}
# Whose feed each post belongs in, visibility aside: the author, the author's accepted
# followers, and for a group post the group's members.
FEED_AUDIENCE = {
    "alice": frozenset({"alice", "bob", "carol"}),
    "pat": frozenset({"pat", "bob", "carol"}),
    "group": frozenset({"alice", "gina"}),
}

Observed = dict[str, set[str]]


def feed_expected() -> dict[str, frozenset[str]]:
    """Who finds each post in their feed: its audience, among those who may see it."""
    expected = {}
    for key, viewers in VISIBLE.items():
        audience = FEED_AUDIENCE["group" if key.endswith("group") else key.split()[0]]
        expected[key] = viewers & audience
    return expected


@dataclass
class World:
    people: dict[str, Person]
    posts: dict[str, int]
    group_id: int

    def key_of(self, post_id: int) -> str:
        return next(key for key, known in self.posts.items() if known == post_id)


class VisibilityTests(PostTestMixin):
    async def world(self) -> World:
        """The cast of CAST with their follows and group, and the seven posts of VISIBLE."""
        people = dict(zip(CAST, await self.start(*CAST), strict=True))
        alice, pat, bob, carol, dave, _, gina, nora = people.values()
        await self.make_private(pat)
        for follower in (bob, carol):
            await self.follows(follower, alice)
            await self.asks(follower, pat)
            self.expect(await self.answer(pat, follower, "accept"), 204)
        await self.asks(dave, pat)
        group_id = (await self.create_group(alice, "Devs"))["id"]
        await self.add_member(alice, group_id, gina)
        await self.request_to_join(nora, group_id)
        posts = {}
        for author in (alice, pat):
            for privacy in ("public", "followers", "private"):
                allowed = [carol.id] if privacy == "private" else None  # null: none listed
                post = await self.post(author, privacy=privacy, allowed_user_ids=allowed)
                posts[f"{author.username} {privacy}"] = post["id"]
        posts["alice group"] = (await self.post(alice, group_id=group_id))["id"]
        return World(people, posts, group_id)

    async def statuses(
        self, world: World, request: Callable[[Person, int], Awaitable[Response]], ok: int
    ) -> Observed:
        """For each post, the viewers for whom `request` answers `ok`; any other answer must be
        the 404 of a missing post."""
        observed: Observed = {key: set() for key in world.posts}
        for name, person in world.people.items():
            for key, post_id in world.posts.items():
                response = await request(person, post_id)
                if response.status == ok:
                    observed[key].add(name)
                else:
                    self.expect_error(response, 404, "not_found")
        return observed

    async def in_lists(self, world: World, path_of: Callable[[World], list[str]]) -> Observed:
        """For each post, the viewers who find it in any of the lists `path_of` names."""
        observed: Observed = {key: set() for key in world.posts}
        for name, person in world.people.items():
            for path in path_of(world):
                response = await person.client.get(path + "?limit=100")
                if response.status == 403 and "/groups/" in path:
                    continue
                for post in self.expect(response, 200):
                    observed[world.key_of(post["id"])].add(name)
        return observed

    def assert_matrix(
        self, observed: Observed, expected: dict[str, frozenset[str]], path: str
    ) -> None:
        """The viewers `path` showed each post to are exactly the expected ones."""
        self.assertEqual({k: set(v) for k, v in expected.items()}, observed, path)

    async def test_every_read_path_agrees_with_the_matrix(self) -> None:
        """A single post, the author's posts and comments are seen by exactly those VISIBLE
        names; the feed holds what its owner may see among the posts of whom they follow, of
        their groups, and their own; the group's list only the group post, for members."""
        world = await self.world()
        self.assert_matrix(await self.statuses(world, self.get_post, 200), VISIBLE, "GET post")
        comments = await self.statuses(world, self.comments_response, 200)
        self.assert_matrix(comments, VISIBLE, "GET comments")
        authors = await self.in_lists(
            world, lambda w: [f"/api/users/{w.people[a].id}/posts" for a in ("alice", "pat")]
        )
        self.assert_matrix(authors, VISIBLE, "user posts")
        self.assert_matrix(
            await self.in_lists(world, lambda _: ["/api/feed"]), feed_expected(), "feed"
        )
        groups = await self.in_lists(world, lambda w: [f"/api/groups/{w.group_id}/posts"])
        only_group: dict[str, frozenset[str]] = {key: frozenset() for key in VISIBLE}
        only_group["alice group"] = VISIBLE["alice group"]
        self.assert_matrix(groups, only_group, "group posts")
        for name, person in world.people.items():
            response = await person.client.get(f"/api/groups/{world.group_id}/posts")
            self.assertEqual(response.status, 200 if name in ("alice", "gina") else 403, name)

    async def test_likes_and_comments_follow_the_matrix(self) -> None:
        """Liking, unliking and commenting succeed for exactly those who may see the post and
        are 404 for everyone else, who change nothing."""
        world = await self.world()
        self.assert_matrix(await self.statuses(world, self.like, 201), VISIBLE, "like")
        self.assert_matrix(await self.statuses(world, self.try_comment, 201), VISIBLE, "comment")
        self.assert_matrix(await self.statuses(world, self.unlike, 204), VISIBLE, "unlike")
        for key, post_id in world.posts.items():
            author = world.people[key.split()[0]]
            post = await self.seen(author, post_id)
            self.assertEqual(
                (post["like_count"], post["comment_count"]), (0, len(VISIBLE[key])), key
            )

    async def comments_response(self, person: Person, post_id: int) -> Response:
        return await person.client.get(f"/api/posts/{post_id}/comments")

    async def test_hidden_posts_answer_as_missing_ones(self) -> None:
        """For a post the viewer cannot see, every route gives the very body of a post that does
        not exist, so nothing tells the two apart."""
        world = await self.world()
        eve = world.people["eve"]
        hidden, missing = world.posts["alice followers"], max(world.posts.values()) + 1000
        for method, path in (
            ("GET", "/api/posts/{}"),
            ("DELETE", "/api/posts/{}"),
            ("POST", "/api/posts/{}/like"),
            ("DELETE", "/api/posts/{}/like"),
            ("GET", "/api/posts/{}/comments"),
            ("POST", "/api/posts/{}/comments"),
        ):
            answers = [
                await eve.client.request(method, path.format(post_id), json={"content": "x"})
                for post_id in (hidden, missing)
            ]
            hidden_answer, missing_answer = ((a.status, a.raw) for a in answers)
            self.assertEqual(hidden_answer, missing_answer, f"{method} {path}")
            self.expect_error(answers[0], 404, "not_found")

    async def test_hidden_comments_cannot_be_deleted_or_seen(self) -> None:
        """A comment on a post the viewer cannot see is 404 for them, as an unknown comment."""
        world = await self.world()
        carol, eve = world.people["carol"], world.people["eve"]
        comment = await self.comment(carol, world.posts["alice private"])
        for person in (eve, world.people["bob"]):
            self.expect_error(await self.delete_comment(person, comment["id"]), 404, "not_found")
        self.assertEqual(len(await self.comments(carol, world.posts["alice private"])), 1)

    async def test_access_ends_with_the_follow(self) -> None:
        """Once carol unfollows alice, alice's followers and private posts (carol was listed)
        are hidden from her and leave her feed; the public one stays visible."""
        world = await self.world()
        carol = world.people["carol"]
        self.expect(await self.unfollow(carol, world.people["alice"]), 204)
        for key in ("alice followers", "alice private"):
            self.expect_error(await self.get_post(carol, world.posts[key]), 404, "not_found")
        self.assertEqual(
            (await self.seen(carol, world.posts["alice public"]))["id"], world.posts["alice public"]
        )
        feed = set(await self.feed(carol, "?limit=100"))
        self.assertEqual(
            {world.key_of(post_id) for post_id in feed},
            {"pat public", "pat followers", "pat private"},
        )

    async def test_a_profile_gone_private_hides_its_public_posts(self) -> None:
        """When alice makes her profile private, her public post is hidden from everyone but
        her and her followers (group posts stay with the group); public again, it is back."""
        world = await self.world()
        alice, public = world.people["alice"], world.posts["alice public"]
        await self.make_private(alice)
        seeing = await self.statuses(world, self.get_post, 200)
        self.assertEqual(seeing["alice public"], {"alice", "bob", "carol"})
        self.assertEqual(seeing["alice group"], {"alice", "gina"})
        await self.make_private(alice, False)
        self.assertEqual((await self.seen(world.people["eve"], public))["id"], public)

    async def test_a_member_who_leaves_loses_the_group_posts(self) -> None:
        """gina, once out of the group, no longer sees its post (404) nor its list (403)."""
        world = await self.world()
        gina = world.people["gina"]
        self.expect(await gina.client.post(f"/api/groups/{world.group_id}/leave"), 204)
        self.expect_error(await self.get_post(gina, world.posts["alice group"]), 404, "not_found")
        response = await gina.client.get(f"/api/groups/{world.group_id}/posts")
        self.expect_error(response, 403, "forbidden")
        self.assertNotIn(world.posts["alice group"], await self.feed(gina))


class VisibilitySqliteTests(SqliteEngine, VisibilityTests, TestCase):
    pass


class VisibilityPostgresTests(PostgresEngine, VisibilityTests, TestCase):
    pass
