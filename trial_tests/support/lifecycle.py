"""What the export and account deletion tests share: a world in which one user, zed, has some of
every kind of data, and others have data of their own around it, all made through the API."""

from __future__ import annotations

import dataclasses
from typing import Any

from trial_tests.support.accounts import PASSWORD
from trial_tests.support.groups import LAUNCH, Person
from trial_tests.support.harness import Client, Response
from trial_tests.support.posts import PostTestMixin
from trial_tests.support.wsclient import WsClient, connect

FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


@dataclasses.dataclass
class World:
    """zed and the others, and the ids of what was made. `cursor` is a stream position from
    before any message: resuming from it replays every stored frame."""

    ann: Person
    bob: Person
    cat: Person
    dan: Person
    zed: Person
    zed_browser: Client  # zed's second session
    cursor: str
    zed_post: dict[str, Any]  # public, with an image; ann commented (with an image), bob liked
    ann_post: dict[str, Any]  # zed commented (with an image) and liked it
    zed_comment: dict[str, Any]
    ann_comment: dict[str, Any]
    avatar: dict[str, Any]  # zed's avatar upload
    loose_upload: dict[str, Any]  # zed's upload attached to nothing
    ann_upload: dict[str, Any]  # attached to ann's own post, which stays
    passed_group: int  # zed's; bob joined before ann, so bob inherits it
    lone_group: int  # zed's, cat only invited: deleted with zed
    ann_group: int  # ann's; zed is a member, created an event and answered ann's
    bob_group: int  # bob's; zed is invited
    zed_event: int
    ann_event: int
    to_ann: list[int]  # zed's private messages to ann
    from_ann: list[int]  # ann's private messages to zed
    in_group: int  # zed's message in ann_group
    ann_in_group: int  # ann's message in ann_group

    @property
    def others(self) -> list[Person]:
        return [self.ann, self.bob, self.cat, self.dan]


class AccountWorldMixin(PostTestMixin):
    """Building the world, and the requests its checks make."""

    sent = 0  # frames sent so far: each gets its own client id

    async def ws(
        self, person: Person, since: str = "now", client: Client | None = None
    ) -> WsClient:
        """A socket of `person`'s session (or `client`'s), registered, closed at the end."""
        token = (client or person.client).session_token()
        socket = await connect(self.running.url, token, path=f"/ws?since={since}")
        self.addCleanup(socket.close)
        return socket

    async def send(self, socket: WsClient, frame: dict[str, Any]) -> dict[str, Any]:
        """Send a frame with a fresh client id; its ack."""
        self.sent += 1
        client_id = f"c{self.sent}"
        socket.send({**frame, "id": client_id})
        while True:
            answer: dict[str, Any] = await socket.next()
            if answer.get("id") == client_id and answer["type"] in ("ack", "error"):
                self.assertEqual(answer["type"], "ack", answer)
                return answer

    async def group_with(self, owner: Person, name: str, *members: Person) -> int:
        group_id: int = (await self.create_group(owner, name))["id"]
        for member in members:
            await self.add_member(owner, group_id, member)
        return group_id

    async def build_world(self) -> World:
        ann, bob, cat, dan, zed = await self.start("ann", "bob", "cat", "dan", "zed")
        zed_browser = Client(self.running.url)
        login = {"username": "zed", "password": PASSWORD}
        headers = {"User-Agent": FIREFOX}
        signed_in = await zed_browser.request("POST", "/api/auth/login", login, headers=headers)
        self.expect(signed_in, 200)
        first = await self.ws(ann)
        cursor = (await first.next())["cursor"]

        # Posts, comments, likes and images.
        zed_image, avatar, loose, zed_comment_image = await self.uploads(zed, 4)
        ann_image, ann_comment_image = await self.uploads(ann, 2)
        self.expect(await self.patch_me(zed, {"avatar_media_id": avatar["id"]}), 200)
        zed_post = await self.post(zed, "zed's garden", media_ids=[zed_image["id"]])
        ann_post = await self.post(ann, "ann's garden", media_ids=[ann_image["id"]])
        ann_comment = await self.comment(
            ann, zed_post["id"], "lovely", media_ids=[ann_comment_image["id"]]
        )
        zed_comment = await self.comment(
            zed, ann_post["id"], "thanks", media_ids=[zed_comment_image["id"]]
        )
        self.expect(await self.like(bob, zed_post["id"]), 201)
        self.expect(await self.like(zed, ann_post["id"]), 201)

        # Follows both ways, requests both ways, a block.
        await self.follows(zed, ann)
        await self.follows(bob, zed)
        await self.follows(ann, bob)
        await self.make_private(cat)
        await self.asks(zed, cat)
        await self.make_private(zed)
        await self.asks(ann, zed)
        self.expect(await zed.client.post(f"/api/users/{dan.id}/block"), 204)

        # Groups, memberships, invitations, events and answers.
        passed_group = await self.group_with(zed, "zed's club", bob, ann)
        await self.joined_earlier(passed_group, bob)
        lone_group = await self.group_with(zed, "zed alone")
        self.expect(await self.invite(zed, lone_group, cat), 201)
        ann_group = await self.group_with(ann, "ann's club", zed, bob)
        bob_group = await self.group_with(bob, "bob's club")
        self.expect(await self.invite(bob, bob_group, zed), 201)
        zed_event = await self.event(zed, ann_group, "zed's party")
        ann_event = await self.event(ann, ann_group, "ann's party")
        for person, event in ((zed, ann_event), (ann, zed_event)):
            answer = await person.client.post(f"/api/events/{event}/rsvp", {"response": "going"})
            self.expect(answer, 200)

        # Messages, an edit, reactions, a read marker.
        zed_ws, ann_ws = await self.ws(zed), await self.ws(ann)
        to_ann, from_ann = [], []
        for number in range(2):
            to_ann.append((await self.send(zed_ws, self.private(ann, f"z{number}")))["message_id"])
            from_ann.append(
                (await self.send(ann_ws, self.private(zed, f"a{number}")))["message_id"]
            )
        await self.send(zed_ws, {"type": "edit", "message_id": to_ann[0], "content": "z0 edited"})
        await self.send(ann_ws, self.reaction(to_ann[1]))
        await self.send(zed_ws, self.reaction(from_ann[0]))
        group_frame = {"type": "group", "group_id": str(ann_group)}
        in_group = (await self.send(zed_ws, {**group_frame, "content": "zg"}))["message_id"]
        ann_in_group = (await self.send(ann_ws, {**group_frame, "content": "ag"}))["message_id"]
        read = {"user": ann.id, "up_to": from_ann[-1]}
        self.expect(await zed.client.post("/api/conversations/read", read), 204)
        await zed_ws.close()
        await ann_ws.close()
        await first.close()
        return World(
            ann=ann,
            bob=bob,
            cat=cat,
            dan=dan,
            zed=zed,
            zed_browser=zed_browser,
            cursor=cursor,
            zed_post=zed_post,
            ann_post=ann_post,
            zed_comment=zed_comment,
            ann_comment=ann_comment,
            avatar=avatar,
            loose_upload=loose,
            ann_upload=ann_image,
            passed_group=passed_group,
            lone_group=lone_group,
            ann_group=ann_group,
            bob_group=bob_group,
            zed_event=zed_event,
            ann_event=ann_event,
            to_ann=to_ann,
            from_ann=from_ann,
            in_group=in_group,
            ann_in_group=ann_in_group,
        )

    @staticmethod
    def private(to: Person, content: str) -> dict[str, Any]:
        return {"type": "private", "to": to.id, "content": content}

    @staticmethod
    def reaction(message_id: int) -> dict[str, Any]:
        return {"type": "reaction", "message_id": message_id, "emoji": "👍", "on": True}

    async def event(self, creator: Person, group_id: int, title: str) -> int:
        body = {"title": title, "starts_at": LAUNCH}
        created = await creator.client.post(f"/api/groups/{group_id}/events", body)
        event_id: int = self.expect(created, 201)["id"]
        return event_id

    async def joined_earlier(self, group_id: int, person: Person) -> None:
        """Make `person` the group's longest-standing member but its owner, as if they had
        joined a day before the others (joins within one second are otherwise ordered by id)."""

        async def update(txn: Any) -> None:
            await txn.run(
                "UPDATE group_members SET joined_at = joined_at - 86400"
                " WHERE group_id = ? AND user_id = ?",
                (group_id, person.id),
            )

        await self.running.server.database.interaction("test_joined_earlier", update)

    async def delete_account(self, person: Person, password: Any = PASSWORD) -> Response:
        body = {} if password is None else {"password": password}
        return await person.client.request("DELETE", "/api/users/me", json=body)
