"""The authorization matrix: every REST route and every WebSocket frame type, asked by every
role, against the status the contract and docs/privacy.md give it.

The table is the executable summary of who may do what. Its keys are compared with the real
Api's routes and the real Dispatcher's frame types both ways: a route or frame type added
without its row, or a row left behind, fails the test.

Roles (trial_tests/support/authorization.py builds them): `self` is the target, a private
account; `follower` follows it (accepted), `pending` asked to, `blocked` is blocked by it.
`owner` owns the group, `member` is an accepted member, `invited` is invited, `requester`
asked to join. `stranger` has no relation to anyone, `admin` is an administrator,
`deactivated` was deactivated (its cookie no longer authenticates), `anonymous` has no cookie.
Unless a row says otherwise, a user path points at the target, a group path at the group, a
post path at the target's post (`public`, so seen by its followers only), an event path at
the group's event; a frame's message is the member's message to the group.
"""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from trial_tests.support.accounts import PASSWORD, register_body
from trial_tests.support.authorization import (
    Frame,
    Route,
    admins,
    ask_frame,
    ask_route,
    build_world,
    everyone,
    signed_in,
)
from trial_tests.support.groups import LAUNCH
from trial_tests.support.harness import PostgresEngine, SqliteEngine, start_server
from trial_tests.support.images import picture
from trial_tests.support.mixins import EngineTestMixin

MEMBERS = {"owner": 200, "member": 200}
SEES_POST = {"self": 200, "follower": 200}

ROUTES: dict[str, Route] = {
    # Accounts and sessions: one's own, whoever one is.
    "POST /api/auth/register": Route(
        everyone(201),
        body=lambda v: register_body(v["name"]),
        fresh=("name",),
        shared=True,
    ),
    "POST /api/auth/login": Route(
        everyone(200),
        body=lambda v: {"username": v["stranger_name"], "password": PASSWORD},
        shared=True,
    ),
    "GET /api/auth/registration": Route(everyone(200), shared=True),
    "POST /api/auth/password-reset": Route(
        everyone(202), body=lambda v: {"email": "nobody@example.org"}, shared=True
    ),
    "POST /api/auth/password-reset/confirm": Route(
        everyone(400), body=lambda v: {"token": "unknown", "password": PASSWORD}, shared=True
    ),
    "POST /api/auth/verify-email": Route(
        everyone(400), body=lambda v: {"token": "unknown"}, shared=True
    ),
    "POST /api/auth/logout": Route(signed_in(204)),
    "GET /api/auth/me": Route(signed_in(200), shared=True),
    "POST /api/auth/password": Route(
        signed_in(204), body=lambda v: {"old_password": PASSWORD, "new_password": PASSWORD}
    ),
    "GET /api/auth/sessions": Route(signed_in(200), shared=True),
    "DELETE /api/auth/sessions/<session_id>": Route(
        signed_in(404, self=204), fresh=("session",), shared=True
    ),
    "GET /api/users/me/export": Route(signed_in(200), shared=True),
    "DELETE /api/users/me": Route(signed_in(204), body=lambda v: {"password": PASSWORD}),
    # Users, follows, blocks: profiles are seen by everyone signed in, lists of a private one
    # by the user and their followers.
    "GET /api/users": Route(signed_in(200), shared=True),
    "GET /api/users/<user_id>": Route(signed_in(200), shared=True),
    "PATCH /api/users/me": Route(signed_in(200), body=lambda v: {"about": "changed"}, shared=True),
    "POST /api/users/<user_id>/follow": Route(
        signed_in(202, self=400, follower=200, pending=200, blocked=403)
    ),
    # Unfollowing or unblocking oneself changes nothing, as any repeat: 204 (following or
    # blocking oneself is a mistake worth saying: 400).
    "DELETE /api/users/<user_id>/follow": Route(signed_in(204)),
    "GET /api/users/<user_id>/followers": Route(signed_in(403, **SEES_POST), shared=True),
    "GET /api/users/<user_id>/following": Route(signed_in(403, **SEES_POST), shared=True),
    "GET /api/follow-requests": Route(signed_in(200), shared=True),
    "POST /api/follow-requests/<user_id>/accept": Route(
        signed_in(404, self=204), path="/api/follow-requests/{pending}/accept"
    ),
    "POST /api/follow-requests/<user_id>/decline": Route(
        signed_in(404, self=204), path="/api/follow-requests/{pending}/decline"
    ),
    "POST /api/users/<user_id>/block": Route(signed_in(204, self=400)),
    "DELETE /api/users/<user_id>/block": Route(signed_in(204)),
    "GET /api/blocks": Route(signed_in(200), shared=True),
    "GET /api/presence": Route(signed_in(200), path="/api/presence?users={target}", shared=True),
    # Posts: the target's post is seen by the target and its follower, 404 for anyone else.
    "POST /api/posts": Route(signed_in(201), body=lambda v: {"content": "hello"}, shared=True),
    "GET /api/posts/<post_id>": Route(signed_in(404, **SEES_POST), shared=True),
    "DELETE /api/posts/<post_id>": Route(signed_in(404, self=204, follower=403)),
    "GET /api/feed": Route(signed_in(200), shared=True),
    "GET /api/users/<user_id>/posts": Route(signed_in(200), shared=True),
    "GET /api/groups/<group_id>/posts": Route(signed_in(403, **MEMBERS), shared=True),
    "POST /api/posts/<post_id>/like": Route(signed_in(404, self=201, follower=201), shared=True),
    "DELETE /api/posts/<post_id>/like": Route(signed_in(404, self=204, follower=204), shared=True),
    "POST /api/posts/<post_id>/comments": Route(
        signed_in(404, self=201, follower=201), body=lambda v: {"content": "nice"}, shared=True
    ),
    "GET /api/posts/<post_id>/comments": Route(signed_in(404, **SEES_POST), shared=True),
    # A comment of the follower's on the target's post: its author or the post's deletes it.
    "DELETE /api/comments/<comment_id>": Route(
        signed_in(404, self=204, follower=204),
        path="/api/comments/{comment}",
        fresh=("comment",),
        shared=True,
    ),
    "POST /api/media": Route(signed_in(201), raw=(picture("PNG"), "image/png"), shared=True),
    "GET /media/<name>": Route(everyone(200), shared=True),
    "POST /api/reports": Route(
        signed_in(404, owner=201, member=201),
        body=lambda v: {"kind": "message", "id": v["message"], "reason": "spam"},
        shared=True,
    ),
    # Groups: discoverable by everyone, their content for accepted members, their
    # administration for the owner.
    "POST /api/groups": Route(signed_in(201), body=lambda v: {"name": "Another"}, shared=True),
    "GET /api/groups": Route(signed_in(200), shared=True),
    "GET /api/groups/<group_id>": Route(signed_in(200), shared=True),
    "PATCH /api/groups/<group_id>": Route(
        signed_in(403, owner=200), body=lambda v: {"description": "changed"}, shared=True
    ),
    "DELETE /api/groups/<group_id>": Route(signed_in(403, owner=204)),
    "POST /api/groups/invite": Route(
        signed_in(403, owner=201, member=201),
        body=lambda v: {"group_id": v["group"], "user_id": v["user"]},
        fresh=("user",),
        shared=True,
    ),
    "GET /api/groups/<group_id>/members": Route(signed_in(403, **MEMBERS), shared=True),
    "DELETE /api/groups/<group_id>/members/<user_id>": Route(
        signed_in(403, owner=204), path="/api/groups/{group}/members/{member}"
    ),
    "POST /api/groups/<group_id>/join": Route(
        signed_in(202, owner=409, member=409, invited=200, requester=409)
    ),
    # Leaving withdraws a join request too; an invitation is declined instead.
    "POST /api/groups/<group_id>/leave": Route(
        signed_in(404, owner=409, member=204, requester=204)
    ),
    "GET /api/groups/<group_id>/requests": Route(signed_in(403, owner=200), shared=True),
    "POST /api/groups/<group_id>/requests/<user_id>/accept": Route(
        signed_in(403, owner=204), path="/api/groups/{group}/requests/{requester}/accept"
    ),
    "POST /api/groups/<group_id>/requests/<user_id>/decline": Route(
        signed_in(403, owner=204), path="/api/groups/{group}/requests/{requester}/decline"
    ),
    "POST /api/groups/<group_id>/invitation/accept": Route(signed_in(404, invited=200)),
    "POST /api/groups/<group_id>/invitation/decline": Route(signed_in(404, invited=204)),
    "POST /api/groups/<group_id>/events": Route(
        signed_in(403, owner=201, member=201),
        body=lambda v: {"title": "Again", "starts_at": LAUNCH},
        shared=True,
    ),
    "GET /api/groups/<group_id>/events": Route(signed_in(403, **MEMBERS), shared=True),
    "GET /api/events/<event_id>": Route(signed_in(403, **MEMBERS), shared=True),
    "POST /api/events/<event_id>/rsvp": Route(
        signed_in(403, **MEMBERS), body=lambda v: {"response": "going"}, shared=True
    ),
    # Messages and conversations: one's own; a group's for its accepted members.
    "GET /api/messages/private": Route(
        signed_in(200), path="/api/messages/private?user={target}", shared=True
    ),
    "GET /api/messages/group": Route(
        signed_in(403, **MEMBERS), path="/api/messages/group?group={group}", shared=True
    ),
    "GET /api/conversations": Route(signed_in(200), shared=True),
    "GET /api/conversations/unread": Route(signed_in(200), shared=True),
    "POST /api/conversations/read": Route(
        signed_in(403, owner=204, member=204),
        body=lambda v: {"group": v["group"], "up_to": v["message"]},
        shared=True,
    ),
    "GET /api/notifications": Route(signed_in(200), shared=True),
    "POST /api/notifications/read": Route(signed_in(204), shared=True),
    "GET /api/notifications/unread_count": Route(signed_in(200), shared=True),
    # Operations: no session, no private data.
    "GET /api/openapi.json": Route(everyone(200), shared=True),
    "GET /healthz": Route(everyone(200), shared=True),
    "GET /metrics": Route(everyone(200), shared=True),
    # Administration: administrators only, 403 for anyone else signed in.
    "GET /api/admin/users": Route(admins(200), shared=True),
    "POST /api/admin/users": Route(
        admins(201),
        body=lambda v: register_body(v["name"]),
        fresh=("name",),
        shared=True,
    ),
    "DELETE /api/admin/users/<target_id>": Route(admins(204), path="/api/admin/users/{target}"),
    "POST /api/admin/users/<target_id>/deactivate": Route(
        admins(204), path="/api/admin/users/{target}/deactivate"
    ),
    "POST /api/admin/users/<target_id>/reactivate": Route(
        admins(204), path="/api/admin/users/{target}/reactivate"
    ),
    "POST /api/admin/users/<target_id>/sessions/revoke": Route(
        admins(204), path="/api/admin/users/{target}/sessions/revoke"
    ),
    "POST /api/admin/users/<target_id>/admin": Route(
        admins(204), path="/api/admin/users/{target}/admin"
    ),
    "DELETE /api/admin/users/<target_id>/admin": Route(
        admins(204), path="/api/admin/users/{target}/admin"
    ),
    "POST /api/admin/users/<user_id>/password-reset": Route(admins(200)),
    "DELETE /api/admin/posts/<target_id>": Route(admins(204), path="/api/admin/posts/{post}"),
    "DELETE /api/admin/comments/<target_id>": Route(
        admins(204), path="/api/admin/comments/{comment}"
    ),
    "DELETE /api/admin/messages/<target_id>": Route(
        admins(204), path="/api/admin/messages/{message}"
    ),
    "DELETE /api/admin/groups/<target_id>": Route(admins(204), path="/api/admin/groups/{group}"),
    "GET /api/admin/reports": Route(admins(200), shared=True),
    "POST /api/admin/reports/<report_id>/resolve": Route(admins(200), shared=True),
    "GET /api/admin/audit": Route(admins(200), shared=True),
    "POST /api/admin/registration-tokens": Route(admins(201), body=lambda v: {}, shared=True),
    "GET /api/admin/registration-tokens": Route(admins(200), shared=True),
    "DELETE /api/admin/registration-tokens/<token_id>": Route(admins(204), shared=True),
}

# The frames of the WebSocket: an ack, or the error frame's code; 401 is the upgrade's refusal.
TO_TARGET = signed_in("forbidden", self="invalid_frame", follower="ack")
FRAMES: dict[str, Frame] = {
    "private": Frame(TO_TARGET, lambda v: {"to": v["target"], "content": "hi"}),
    "typing": Frame(TO_TARGET, lambda v: {"to": v["target"]}),
    "group": Frame(
        signed_in("forbidden", owner="ack", member="ack"),
        lambda v: {"group_id": str(v["group"]), "content": "hi"},
    ),
    "broadcast": Frame(signed_in("forbidden", admin="ack"), lambda v: {"content": "hi"}),
    "reaction": Frame(
        signed_in("not_found", owner="ack", member="ack"),
        lambda v: {"message_id": v["message"], "emoji": "+", "on": True},
    ),
    "edit": Frame(
        signed_in("not_found", owner="forbidden", member="ack"),
        lambda v: {"message_id": v["message"], "content": "edited"},
    ),
    "delete": Frame(
        signed_in("not_found", owner="ack", member="ack"), lambda v: {"message_id": v["message"]}
    ),
}


# The deactivated account as the resource: as unknown as a missing account (404) to everyone
# but administrators, who see it (users.shown_to). Each row is a route of ROUTES whose path or
# body names a user, here naming the deactivated account.
GONE = signed_in(404, admin=200)
DEACTIVATED: dict[str, Route] = {
    "GET /api/users/<user_id>": Route(GONE, path="/api/users/{deactivated}"),
    "GET /api/users/<user_id>/followers": Route(GONE, path="/api/users/{deactivated}/followers"),
    "GET /api/users/<user_id>/following": Route(GONE, path="/api/users/{deactivated}/following"),
    "GET /api/users/<user_id>/posts": Route(GONE, path="/api/users/{deactivated}/posts"),
    # Nobody follows an account that cannot log in, administrators included.
    "POST /api/users/<user_id>/follow": Route(
        signed_in(404), path="/api/users/{deactivated}/follow"
    ),
    "DELETE /api/users/<user_id>/follow": Route(
        signed_in(404, admin=204), path="/api/users/{deactivated}/follow"
    ),
    "POST /api/users/<user_id>/block": Route(
        signed_in(404, admin=204), path="/api/users/{deactivated}/block"
    ),
    "DELETE /api/users/<user_id>/block": Route(
        signed_in(404, admin=204), path="/api/users/{deactivated}/block"
    ),
    # The administrator sees the account but is no member of the group.
    "POST /api/groups/invite": Route(
        signed_in(404, admin=403),
        body=lambda v: {"group_id": v["group"], "user_id": v["deactivated"]},
    ),
    "POST /api/reports": Route(
        signed_in(404, admin=201),
        body=lambda v: {"kind": "user", "id": v["deactivated"], "reason": "spam"},
    ),
    # Its messages stay in the conversations it was in (docs/known-gaps.md), and so does the
    # history between it and anyone.
    "GET /api/messages/private": Route(
        signed_in(200), path="/api/messages/private?user={deactivated}"
    ),
}
TO_DEACTIVATED = signed_in("not_found")
DEACTIVATED_FRAMES: dict[str, Frame] = {
    "private": Frame(TO_DEACTIVATED, lambda v: {"to": v["deactivated"], "content": "hi"}),
    "typing": Frame(TO_DEACTIVATED, lambda v: {"to": v["deactivated"]}),
}


class AuthorizationMatrixTests(EngineTestMixin):
    """Each route and frame type, asked by each role, on a real server."""

    # About 1,200 requests and 30 worlds: well under a minute on a quiet machine, several on
    # one shared by many test runs.
    timeout = 600

    async def test_every_route_and_frame_type_has_a_row(self) -> None:
        running = await start_server(self, self.engine)
        rules = {rule.endpoint for rule in running.server.api.app.url_map.iter_rules()}
        self.assertEqual(set(ROUTES), rules)
        self.assertEqual(set(FRAMES), running.server.dispatcher.frame_types)
        self.assertLessEqual(set(DEACTIVATED), rules)

    async def test_statuses(self) -> None:
        running = await start_server(self, self.engine)
        shared = await build_world(running)
        wrong = []
        for key, route in ROUTES.items():
            world = shared if route.shared else await build_world(running)
            wrong += await ask_route(world, key, route)
        chat = await build_world(running)  # the frames change nothing another row reads
        for frame_type, frame in FRAMES.items():
            wrong += await ask_frame(chat, frame_type, frame)
        self.assertFalse(wrong, "\n".join(wrong))

    async def test_statuses_with_a_deactivated_account_named(self) -> None:
        running = await start_server(self, self.engine)
        world = await build_world(running)
        wrong = []
        for key, route in DEACTIVATED.items():
            wrong += await ask_route(world, key, route)
        for frame_type, frame in DEACTIVATED_FRAMES.items():
            wrong += await ask_frame(world, frame_type, frame)
        self.assertFalse(wrong, "\n".join(wrong))


class AuthorizationMatrixSqliteTests(SqliteEngine, AuthorizationMatrixTests, TestCase):
    pass


class AuthorizationMatrixPostgresTests(PostgresEngine, AuthorizationMatrixTests, TestCase):
    pass
