"""The REST body parsers: each field checked in the contract's order, a missing or mistyped one
refused with its 400, fields the body does not know ignored, and the refusal of a body whose
route checks a resource first returned for the handler instead of raised."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.trial.unittest import TestCase

from socialhub.errors import InvalidRequest
from socialhub.handlers.commands import (
    KEEP,
    AnswerEvent,
    ChangePassword,
    CreateComment,
    CreateEvent,
    CreateGroup,
    CreatePost,
    Credentials,
    Invite,
    MarkRead,
    PostContent,
    Register,
    UpdateGroup,
    UpdateProfile,
)
from socialhub.http.rest import bodies

EXTRA = {"unknown": [1, {"x": None}]}


class ParserCase(TestCase):
    def refused(self, parse: Callable[[Any], object], body: dict[str, Any], message: str) -> None:
        """`parse` raises a 400 with `message` for `body`."""
        with self.assertRaises(InvalidRequest) as raised:
            parse(body)
        self.assertEqual(str(raised.exception), message)

    def kept(self, parsed: object, message: str) -> None:
        """A refusal returned, not raised, for the handler to raise after its check."""
        self.assertIsInstance(parsed, InvalidRequest)
        self.assertEqual(str(parsed), message)


class AccountBodiesTests(ParserCase):
    def test_register(self) -> None:
        """display_name defaults to the username; the first bad field is the one reported."""
        body = {"username": "al.ice", "email": "a@b", "password": "p" * 8, **EXTRA}
        self.assertEqual(bodies.register(body), Register("al.ice", "a@b", "p" * 8, "al.ice"))
        named = bodies.register({**body, "display_name": "Alice"})
        self.assertEqual(named.display_name, "Alice")
        username = "username must be 3 to 32 of A-Z, a-z, 0-9, '_', '.', '-'"
        self.refused(bodies.register, {"email": 5}, username)
        self.refused(bodies.register, {**body, "username": 7, "email": 5}, username)
        self.refused(
            bodies.register, {**body, "email": "ab"}, "email must be 3 to 254 characters long"
        )
        self.refused(
            bodies.register,
            {**body, "email": "a@b@c"},
            "email must be one '@' between two non-empty parts",
        )
        self.refused(
            bodies.register,
            {**body, "password": "short"},
            "password must be 8 to 1024 characters long",
        )
        self.refused(
            bodies.register, {**body, "display_name": None}, "display_name must be a string"
        )

    def test_credentials(self) -> None:
        """A username, or an email without one; any non-empty password."""
        self.assertEqual(
            bodies.credentials({"username": "al", "email": "x", "password": "p", **EXTRA}),
            Credentials("al", "p"),
        )
        self.assertEqual(
            bodies.credentials({"email": "a@b", "password": "p"}), Credentials("a@b", "p")
        )
        self.refused(bodies.credentials, {"password": "p"}, "email must be a string")
        self.refused(bodies.credentials, {"username": "al"}, "password must be a string")
        self.refused(
            bodies.credentials,
            {"username": "", "password": 1},
            "username must be 1 to 254 characters long",
        )

    def test_change_password(self) -> None:
        body = {"old_password": "", "new_password": "n" * 8, **EXTRA}
        self.assertEqual(bodies.change_password(body), ChangePassword("", "n" * 8))
        self.refused(
            bodies.change_password, {"new_password": "n" * 8}, "old_password must be a string"
        )
        self.refused(
            bodies.change_password,
            {"old_password": "o", "new_password": "n"},
            "new_password must be 8 to 1024 characters long",
        )


class GroupBodiesTests(ParserCase):
    def test_create_group(self) -> None:
        self.assertEqual(bodies.create_group({"name": "g", **EXTRA}), CreateGroup("g", ""))
        self.assertEqual(
            bodies.create_group({"name": "g", "description": None}), CreateGroup("g", "")
        )
        self.refused(bodies.create_group, {"description": "d"}, "name must be a string")
        self.refused(
            bodies.create_group, {"name": "g", "description": 3}, "description must be a string"
        )

    def test_invite(self) -> None:
        self.assertEqual(bodies.invite({"group_id": "4", "user_id": 5, **EXTRA}), Invite(4, 5))
        self.refused(bodies.invite, {"user_id": 5}, "group_id must be a positive integer id")
        self.refused(
            bodies.invite, {"group_id": 4, "user_id": True}, "user_id must be a positive integer id"
        )

    def test_update_group_refusal_is_kept(self) -> None:
        """Every field may be left out; a bad one waits for the owner's check."""
        self.assertEqual(bodies.update_group(EXTRA), UpdateGroup(None, None, None))
        self.assertEqual(
            bodies.update_group({"name": "n", "description": "", "owner_id": "9"}),
            UpdateGroup("n", "", 9),
        )
        self.kept(bodies.update_group({"name": ""}), "name must be 1 to 100 characters long")
        self.kept(bodies.update_group({"owner_id": 0}), "owner_id must be a positive integer id")


class EventBodiesTests(ParserCase):
    def test_create_event_refusal_is_kept(self) -> None:
        body = {"title": "t", "starts_at": "2030-01-01T00:00:00Z", **EXTRA}
        self.assertEqual(bodies.create_event(body), CreateEvent("t", "", 1_893_456_000))
        self.kept(bodies.create_event({"starts_at": body["starts_at"]}), "title must be a string")
        self.kept(
            bodies.create_event({"title": "t"}),
            "starts_at must be an RFC 3339 date-time, e.g. 2030-01-01T12:00:00Z",
        )

    def test_answer_event_refusal_is_kept(self) -> None:
        self.assertEqual(bodies.answer_event({"response": "going", **EXTRA}), AnswerEvent("going"))
        for bad in ({}, {"response": "maybe"}, {"response": ["going"]}):
            self.kept(bodies.answer_event(bad), 'response must be "going" or "not_going"')


class NotificationBodiesTests(ParserCase):
    def test_mark_read(self) -> None:
        """No `ids` marks everything; a list of ids those."""
        self.assertEqual(bodies.mark_read(EXTRA), MarkRead(None))
        self.assertEqual(bodies.mark_read({"ids": [1, "2"]}), MarkRead([1, 2]))
        message = "ids must be a list of at most 1000 notification ids"
        self.refused(bodies.mark_read, {"ids": None}, message)
        self.refused(bodies.mark_read, {"ids": list(range(1, 1002))}, message)
        self.refused(bodies.mark_read, {"ids": [1, "x"]}, "ids must be a positive integer id")


class PostBodiesTests(ParserCase):
    def test_media_ids(self) -> None:
        """`media_ids` is optional, takes ids as numbers or digits, at most 4, no repeats."""
        self.assertEqual(bodies.media_ids({}), [])
        self.assertEqual(bodies.media_ids({"media_ids": [3, "4"]}), [3, 4])
        for bad in ([1, 2, 3, 4, 5], [1, 1], "1", [True], [0], None):
            with self.assertRaises(InvalidRequest):
                bodies.media_ids({"media_ids": bad})

    def test_create_post(self) -> None:
        """A bad group_id is raised at once; the content's refusal waits for the membership."""
        self.assertEqual(
            bodies.create_post({"content": "c", **EXTRA}),
            CreatePost(None, PostContent("c", "public", [], [])),
        )
        private = {"content": "c", "privacy": "private", "allowed_user_ids": [2], "media_ids": [3]}
        self.assertEqual(bodies.create_post(private).post, PostContent("c", "private", [2], [3]))
        self.refused(
            bodies.create_post,
            {"group_id": "x", "content": 1},
            "group_id must be a positive integer id",
        )
        in_group = bodies.create_post({"group_id": 7, "privacy": "followers"})
        self.assertEqual(in_group.group_id, 7)
        self.kept(in_group.post, "content must be a string")
        self.kept(
            bodies.create_post({"group_id": 7, "content": "c", "privacy": "followers"}).post,
            "a group post is seen by the group's members: privacy must be public",
        )
        self.kept(
            bodies.create_post({"content": "c", "privacy": "all"}).post,
            'privacy must be "public", "followers" or "private"',
        )
        self.kept(
            bodies.create_post({"content": "c", "allowed_user_ids": [2]}).post,
            'allowed_user_ids is only for privacy "private"',
        )

    def test_create_comment_refusal_is_kept(self) -> None:
        self.assertEqual(bodies.create_comment({"content": "c", **EXTRA}), CreateComment("c", []))
        self.kept(bodies.create_comment({"content": " "}), "content must not be empty")
        self.kept(
            bodies.create_comment({"content": "c", "media_ids": "1"}),
            "media_ids must be a list of at most 4 ids",
        )


class ProfileBodiesTests(ParserCase):
    def test_update_profile(self) -> None:
        """Only the named fields change; a null avatar removes it, an absent one is kept."""
        self.assertEqual(bodies.update_profile(EXTRA), UpdateProfile())
        self.assertEqual(bodies.update_profile({}).avatar_media_id, KEEP)
        self.assertEqual(
            bodies.update_profile(
                {"display_name": "D", "about": "", "is_private": False, "avatar_media_id": None}
            ),
            UpdateProfile("D", "", False, None),
        )
        self.assertEqual(bodies.update_profile({"avatar_media_id": "5"}).avatar_media_id, 5)
        self.refused(
            bodies.update_profile,
            {"display_name": None, "is_private": 1},
            "display_name must be a string",
        )
        self.refused(bodies.update_profile, {"about": 1}, "about must be a string")
        self.refused(bodies.update_profile, {"is_private": 1}, "is_private must be true or false")
        self.refused(
            bodies.update_profile,
            {"avatar_media_id": 0},
            "avatar_media_id must be a positive integer id",
        )
