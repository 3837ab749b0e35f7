"""The authorization matrix's machinery: the roles, the world they live in, and asking each
route and frame type as each role (the table itself is trial_tests/system/
test_authorization_matrix.py).

A world is built through the real interfaces on a running server: a private-account target
("self") with an accepted follower, a pending follower and a user it blocks; a group owned by
"owner" with an accepted member, an invited user and a join requester; an event, a post and a
comment, a group message, an upload, a report and a registration token; an administrator, a
stranger, and a deactivated account whose cookie no longer authenticates.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from string import Formatter
from typing import Any

from trial_tests.support.accounts import PASSWORD, seed_user
from trial_tests.support.groups import LAUNCH
from trial_tests.support.harness import Client, Response, RunningServer
from trial_tests.support.images import picture
from trial_tests.support.wsclient import WsRefused, connect

Status = int | str  # an HTTP status, or for a frame "ack" or its error code
Values = Mapping[str, Any]

SIGNED_IN_ROLES = (
    "self",
    "owner",
    "member",
    "invited",
    "requester",
    "follower",
    "pending",
    "stranger",
    "blocked",
    "admin",
)
# Neither has a session that authenticates: the one sends no cookie, the other's was revoked.
UNAUTHENTICATED = ("anonymous", "deactivated")
ROLES = UNAUTHENTICATED + SIGNED_IN_ROLES
SUCCESS = "ack"


def everyone(default: Status, **roles: Status) -> dict[str, Status]:
    """A route without a session: every role gets `default` but those named."""
    return {**dict.fromkeys(ROLES, default), **roles}


def signed_in(default: Status, **roles: Status) -> dict[str, Status]:
    """Every signed-in role gets `default` but those named; without a session, 401."""
    return everyone(default, anonymous=401, deactivated=401, **roles)


def admins(status: Status) -> dict[str, Status]:
    """An administrator's route: `status` for the administrator, 403 for anyone else."""
    return signed_in(403, admin=status)


def succeeds(status: Status) -> bool:
    return status == SUCCESS or (isinstance(status, int) and status < 300)


@dataclass(frozen=True)
class Route:
    """One REST route's row: who gets which status, at which path, with which body.

    `path` is a template over the world's values (default: the rule, each `<arg>` taken from
    PATH_ARGUMENTS); `fresh` names resources made anew for each caller before its request
    (MAKERS); `shared` lets rows that change nothing the others read share one world."""

    statuses: Mapping[str, Status]
    path: str | None = None
    body: Callable[[Values], Any] | None = None
    fresh: tuple[str, ...] = ()
    shared: bool = False
    raw: tuple[bytes, str] | None = None  # a body of bytes and its Content-Type


@dataclass(frozen=True)
class Frame:
    """One WebSocket frame type's row: who gets an ack or which error code."""

    statuses: Mapping[str, Status]
    frame: Callable[[Values], dict[str, Any]]


# Which resource of the world a path argument points at, unless the row says otherwise.
PATH_ARGUMENTS = {
    "user_id": "target",
    "group_id": "group",
    "post_id": "post",
    "event_id": "event",
    "report_id": "report",
    "token_id": "token",
    "session_id": "session",
    "name": "media",
}


def path_template(rule: str) -> str:
    """`/api/posts/<post_id>` as `/api/posts/{post}`."""
    for argument, resource in PATH_ARGUMENTS.items():
        rule = rule.replace(f"<{argument}>", "{" + resource + "}")
    return rule


_names = itertools.count(1)


@dataclass
class World:
    """The people (by role, each with their own browser) and the resources' ids."""

    running: RunningServer
    clients: dict[str, Client] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def unique(self, stem: str) -> str:
        return f"m{next(_names)}{stem}"

    async def expect(self, response: Awaitable[Response], status: int) -> Any:
        """The JSON body of a setup request, which must answer `status`."""
        answer = await response
        assert answer.status == status, (answer.status, answer.raw)
        return answer.json if answer.raw else None


async def build_world(running: RunningServer) -> World:
    """A world of its own (every name new), on `running`."""
    world = World(running)
    world.clients["anonymous"] = running.client()
    for role in (*SIGNED_IN_ROLES, "deactivated"):
        name = world.unique(role)
        world.clients[role] = await seed_user(running, name, is_admin=role == "admin")
        me = await world.expect(world.clients[role].get("/api/auth/me"), 200)
        world.values[role] = me["id"]
        world.values[f"{role}_name"] = name
    world.values["target"] = world.values["self"]
    await _follows_and_block(world)
    await _group(world)
    await _content(world)
    admin = world.clients["admin"]
    deactivate = f"/api/admin/users/{world.values['deactivated']}/deactivate"
    await world.expect(admin.post(deactivate), 204)
    return world


async def _follows_and_block(world: World) -> None:
    target, values = world.clients["self"], world.values
    await world.expect(target.request("PATCH", "/api/users/me", json={"is_private": True}), 200)
    for role in ("follower", "pending"):
        await world.expect(world.clients[role].post(f"/api/users/{values['self']}/follow"), 202)
    await world.expect(target.post(f"/api/follow-requests/{values['follower']}/accept"), 204)
    await world.expect(target.post(f"/api/users/{values['blocked']}/block"), 204)


async def _group(world: World) -> None:
    owner, values = world.clients["owner"], world.values
    group = await world.expect(owner.post("/api/groups", {"name": "Matrix"}), 201)
    values["group"] = group_id = group["id"]
    for role in ("member", "invited"):
        invite = {"group_id": group_id, "user_id": values[role]}
        await world.expect(owner.post("/api/groups/invite", invite), 201)
    await world.expect(
        world.clients["member"].post(f"/api/groups/{group_id}/invitation/accept"), 200
    )
    await world.expect(world.clients["requester"].post(f"/api/groups/{group_id}/join"), 202)
    event = {"title": "Launch", "starts_at": LAUNCH}
    created = await world.expect(owner.post(f"/api/groups/{group_id}/events", event), 201)
    values["event"] = created["id"]
    values["message"] = await send_group_message(world, "member")


async def send_group_message(world: World, role: str) -> int:
    """A message of `role` to the world's group, sent through a real WebSocket: its id."""
    socket = await connect(world.running.url, world.clients[role].session_token())
    try:
        socket.send(
            {"type": "group", "group_id": str(world.values["group"]), "content": "hi", "id": "m"}
        )
        ack = await socket.next_of("ack")
    finally:
        await socket.close()
    message_id: int = ack["message_id"]
    return message_id


async def _content(world: World) -> None:
    target, values = world.clients["self"], world.values
    values["post"] = (await world.expect(target.post("/api/posts", {"content": "hello"}), 201))[
        "id"
    ]
    values["comment"] = await make_comment(world, "self")
    upload = target.post("/api/media", data=picture("PNG"), headers={"Content-Type": "image/png"})
    values["media"] = (await world.expect(upload, 201))["url"].rsplit("/", 1)[1]
    report = {"kind": "user", "id": values["self"], "reason": "spam"}
    values["report"] = (
        await world.expect(world.clients["stranger"].post("/api/reports", report), 201)
    )["id"]
    token = world.clients["admin"].post("/api/admin/registration-tokens", {})
    values["token"] = (await world.expect(token, 201))["id"]


async def make_comment(world: World, role: str) -> int:
    """A comment by the follower on the target's post."""
    path = f"/api/posts/{world.values['post']}/comments"
    comment = await world.expect(world.clients["follower"].post(path, {"content": "nice"}), 201)
    comment_id: int = comment["id"]
    return comment_id


async def make_session(world: World, role: str) -> int:
    """A session of the target's own, opened for this request alone."""
    client = world.running.client()
    login = {"username": world.values["self_name"], "password": PASSWORD}
    await world.expect(client.post("/api/auth/login", login), 200)
    sessions = await world.expect(client.get("/api/auth/sessions"), 200)
    (current,) = [session["id"] for session in sessions if session["current"]]
    session_id: int = current
    return session_id


async def make_user(world: World, role: str) -> int:
    """A new account nobody relates to (someone to invite)."""
    client = await seed_user(world.running, world.unique("new"))
    me = await world.expect(client.get("/api/auth/me"), 200)
    user_id: int = me["id"]
    return user_id


async def make_name(world: World, role: str) -> str:
    """A username nobody has (to register or create)."""
    return world.unique("name")


MAKERS: dict[str, Callable[[World, str], Awaitable[Any]]] = {
    "comment": make_comment,
    "session": make_session,
    "user": make_user,
    "name": make_name,
}


async def _values_for(world: World, fresh: tuple[str, ...], role: str) -> dict[str, Any]:
    made = {name: await MAKERS[name](world, role) for name in fresh}
    return {**world.values, **made}


def _in_order(statuses: Mapping[str, Status]) -> list[str]:
    """Refusals first, then the roles that succeed: a success that changes the world (a
    deletion) cannot turn another role's refusal into a 404."""
    return sorted(ROLES, key=lambda role: succeeds(statuses[role]))


async def ask_route(world: World, key: str, route: Route) -> list[str]:
    """Each role's request on this route: a line per status that is not the expected one."""
    method, rule = key.split(" ", 1)
    template = route.path or path_template(rule)
    wrong = []
    for role in _in_order(route.statuses):
        values = await _values_for(world, route.fresh, role)
        path = Formatter().vformat(template, (), values)
        kwargs: dict[str, Any] = {}
        if route.body is not None:
            kwargs["json"] = route.body(values)
        if route.raw is not None:
            kwargs["data"], content_type = route.raw
            kwargs["headers"] = {"Content-Type": content_type}
        response = await _isolated(world.clients[role]).request(method, path, **kwargs)
        if response.status != route.statuses[role]:
            wrong.append(f"{key} as {role}: {response.status} {response.raw[:120]!r}")
    return wrong


def _isolated(client: Client) -> Client:
    """The same browser for one request, whose cookies it may set (a login, a register)
    without the role's client becoming someone else."""
    cookies = CookieJar()
    for cookie in client.cookies:
        cookies.set_cookie(cookie)
    return Client(client.url, cookies)


async def ask_frame(world: World, frame_type: str, row: Frame) -> list[str]:
    """Each role's frame of this type on a socket of its own: the ack, the error code, or the
    upgrade's refusal."""
    wrong = []
    for role in _in_order(row.statuses):
        got = await _frame_answer(world, role, {"type": frame_type, **row.frame(world.values)})
        if got != row.statuses[role]:
            wrong.append(f"frame {frame_type} as {role}: {got}")
    return wrong


async def _frame_answer(world: World, role: str, frame: dict[str, Any]) -> Status:
    """The answer to `frame`, sent with a client id of its own: a client id used before is
    answered with its first frame's ack, whatever this frame is."""
    client_id = world.unique("frame")
    try:
        socket = await connect(world.running.url, world.clients[role].session_token())
    except WsRefused as refused:
        return refused.status
    try:
        socket.send({**frame, "id": client_id})
        while True:
            answer = await socket.next()
            if answer["type"] in ("ack", "error") and answer.get("id") == client_id:
                return SUCCESS if answer["type"] == "ack" else str(answer["code"])
    finally:
        await socket.close()
