"""Request bodies read into the handlers' commands (handlers/commands.py).

Each field is checked by validation.py, in the order the contract reports a bad one; fields a
body does not know are ignored. A body whose route checks a resource first (404 or 403 before
a bad field's 400) is returned as its refusal rather than raised, for the handler to raise
after that check (commands.Refusable). Each parser is declared with the JSON Schema of the
bodies it accepts, for /api/openapi.json.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from socialhub.errors import InvalidRequest
from socialhub.handlers.commands import (
    KEEP,
    AnswerEvent,
    ChangePassword,
    ConfirmPassword,
    ConfirmReset,
    CreateAccount,
    CreateComment,
    CreateEvent,
    CreateGroup,
    CreatePost,
    CreateRegistrationToken,
    Credentials,
    FileReport,
    Invite,
    MarkRead,
    PostContent,
    ReadConversation,
    Refusable,
    Register,
    UpdateGroup,
    UpdateProfile,
)
from socialhub.http import schemas
from socialhub.storage.stores.events import RESPONSES
from socialhub.storage.stores.media import MAX_ATTACHED
from socialhub.storage.stores.posts import PRIVACY_LEVELS, PRIVATE, PUBLIC
from socialhub.storage.stores.reports import KINDS
from socialhub.validation import (
    EMAIL_MAX,
    PASSWORD_MAX,
    boolean,
    choice,
    date_time,
    email,
    id_list,
    optional_id,
    optional_text,
    parse_id,
    password,
    positive_int,
    text,
    username,
)

T = TypeVar("T")
Body = Mapping[str, object]
DISPLAY_NAME_MAX = 64
ABOUT_MAX = 2000
GROUP_NAME_MAX = 100
DESCRIPTION_MAX = 2000
TITLE_MAX = 200
POST_MAX = 10_000
COMMENT_MAX = 4_000
# At most this many readers listed for one private post.
MAX_ALLOWED_USERS = 1000
# At most this many ids in one "mark read" body.
MAX_READ_IDS = 1000
# The longest token a client may send (the server's are 43 characters).
TOKEN_MAX = 128
# The most uses one registration token may allow.
MAX_TOKEN_USES = 1_000_000
REASON_MAX = 1000
NOTE_MAX = 1000

# Each parser is declared with its body's JSON Schema (`described`), from the same limits.
_TOKEN = schemas.text(TOKEN_MAX, 1)
_DISPLAY_NAME = schemas.text(DISPLAY_NAME_MAX, 1)
_GROUP_NAME = schemas.text(GROUP_NAME_MAX, 1)
_DESCRIPTION = schemas.nullable(schemas.text(DESCRIPTION_MAX))
_MEDIA_IDS = schemas.id_list(MAX_ATTACHED)
_REGISTER = schemas.body(
    {
        "username": schemas.USERNAME,
        "email": schemas.EMAIL,
        "password": schemas.PASSWORD,
        "display_name": _DISPLAY_NAME,
        "token": _TOKEN,
    },
    required=["username", "email", "password"],
)
# privacy is public by default and for a group post; allowed_user_ids are for private posts.
_CREATE_POST = {
    **schemas.body(
        {
            "content": schemas.text(POST_MAX, 1, content=True),
            "privacy": schemas.nullable(schemas.choice(PRIVACY_LEVELS)),
            "allowed_user_ids": schemas.nullable(schemas.id_list(MAX_ALLOWED_USERS)),
            "group_id": schemas.nullable(schemas.ID),
            "media_ids": _MEDIA_IDS,
        },
        required=["content"],
    ),
    "allOf": [
        {
            "if": {
                "properties": {"allowed_user_ids": {"type": "array"}},
                "required": ["allowed_user_ids"],
            },
            "then": {"properties": {"privacy": {"const": PRIVATE}}, "required": ["privacy"]},
        },
        {
            "if": {"properties": {"group_id": schemas.ID}, "required": ["group_id"]},
            "then": {"properties": {"privacy": {"enum": [PUBLIC, None]}}},
        },
    ],
}


def _refusable(parse: Callable[[Body], T], body: Body) -> Refusable[T]:
    """The command, or the refusal of its first bad field, kept for the handler to raise."""
    try:
        return parse(body)
    except InvalidRequest as error:
        return error


@schemas.described(_REGISTER)
def register(body: Body) -> Register:
    name = username(body.get("username"))
    return Register(
        username=name,
        email=email(body.get("email")),
        password=password(body.get("password"), "password"),
        display_name=text(
            body.get("display_name", name),
            "display_name",
            min_length=1,
            max_length=DISPLAY_NAME_MAX,
        ),
        token=_given(body, "token", lambda value: _token(value, "token")),
    )


def _token(value: object, field: str) -> str:
    return text(value, field, min_length=1, max_length=TOKEN_MAX)


@schemas.described(schemas.body({"token": _TOKEN}, required=["token"]))
def token(body: Body) -> str:
    """The `token` of a mailed link (a reset's or a verification's)."""
    return _token(body.get("token"), "token")


@schemas.described(schemas.body({"email": schemas.EMAIL}, required=["email"]))
def password_reset_email(body: Body) -> str:
    return email(body.get("email"))


@schemas.described(
    schemas.body({"token": _TOKEN, "password": schemas.PASSWORD}, required=["token", "password"])
)
def confirm_reset(body: Body) -> ConfirmReset:
    return ConfirmReset(token(body), password(body.get("password"), "password"))


@schemas.described(
    schemas.body(
        {
            "uses_allowed": schemas.nullable(schemas.positive_int(MAX_TOKEN_USES)),
            "expires_at": schemas.nullable(schemas.DATE_TIME),
        }
    )
)
def create_registration_token(body: Body) -> CreateRegistrationToken:
    uses = body.get("uses_allowed")
    expires = body.get("expires_at")
    return CreateRegistrationToken(
        uses_allowed=None if uses is None else positive_int(uses, "uses_allowed", MAX_TOKEN_USES),
        expires_at=None if expires is None else date_time(expires, "expires_at"),
    )


@schemas.described(
    schemas.body(
        {**_REGISTER["properties"], "is_admin": schemas.BOOLEAN}, required=_REGISTER["required"]
    )
)
def create_account(body: Body) -> CreateAccount:
    """An administrator's new account: a registration's fields, and `is_admin` (false)."""
    is_admin = _given(body, "is_admin", lambda value: boolean(value, "is_admin"))
    return CreateAccount(register(body), bool(is_admin))


@schemas.described(
    schemas.body(
        {
            "kind": schemas.choice(KINDS),
            "id": schemas.ID,
            "reason": schemas.text(REASON_MAX, 1, content=True),
        },
        required=["kind", "id", "reason"],
    )
)
def file_report(body: Body) -> FileReport:
    kinds = ", ".join(KINDS)
    return FileReport(
        kind=choice(body.get("kind"), KINDS, f"kind must be one of {kinds}"),
        target_id=parse_id(body.get("id"), "id"),
        reason=text(
            body.get("reason"), "reason", min_length=1, max_length=REASON_MAX, content=True
        ),
    )


@schemas.described(schemas.body({"note": schemas.nullable(schemas.text(NOTE_MAX))}))
def resolution_note(body: Body) -> str | None:
    """The optional `note` of a report's resolution."""
    return optional_text(body, "note", max_length=NOTE_MAX)


@schemas.described(
    {
        **schemas.body(
            {
                "username": schemas.text(EMAIL_MAX, 1),
                "email": schemas.text(EMAIL_MAX, 1),
                "password": schemas.text(PASSWORD_MAX, 1),
            },
            required=["password"],
        ),
        "anyOf": [{"required": ["username"]}, {"required": ["email"]}],
    }
)
def credentials(body: Body) -> Credentials:
    """A username or, without one, an email; any password (it was set under older rules)."""
    field = "username" if "username" in body else "email"
    return Credentials(
        login=text(body.get(field), field, min_length=1, max_length=EMAIL_MAX),
        password=text(body.get("password"), "password", min_length=1, max_length=PASSWORD_MAX),
    )


@schemas.described(
    schemas.body(
        {"old_password": schemas.text(PASSWORD_MAX), "new_password": schemas.PASSWORD},
        required=["old_password", "new_password"],
    )
)
def change_password(body: Body) -> ChangePassword:
    return ChangePassword(
        old_password=text(body.get("old_password"), "old_password", max_length=PASSWORD_MAX),
        new_password=password(body.get("new_password"), "new_password"),
    )


@schemas.described(schemas.body({"password": schemas.text(PASSWORD_MAX)}, required=["password"]))
def confirm_password(body: Body) -> ConfirmPassword:
    return ConfirmPassword(password=text(body.get("password"), "password", max_length=PASSWORD_MAX))


@schemas.described(
    schemas.body({"name": _GROUP_NAME, "description": _DESCRIPTION}, required=["name"])
)
def create_group(body: Body) -> CreateGroup:
    return CreateGroup(
        name=text(body.get("name"), "name", min_length=1, max_length=GROUP_NAME_MAX),
        description=optional_text(body, "description", max_length=DESCRIPTION_MAX) or "",
    )


@schemas.described(
    schemas.body({"group_id": schemas.ID, "user_id": schemas.ID}, required=["group_id", "user_id"])
)
def invite(body: Body) -> Invite:
    return Invite(
        group_id=parse_id(body.get("group_id"), "group_id"),
        user_id=parse_id(body.get("user_id"), "user_id"),
    )


def _update_group(body: Body) -> UpdateGroup:
    return UpdateGroup(
        name=optional_text(body, "name", min_length=1, max_length=GROUP_NAME_MAX),
        description=optional_text(body, "description", max_length=DESCRIPTION_MAX),
        owner_id=optional_id(body.get("owner_id"), "owner_id"),
    )


@schemas.described(
    schemas.body(
        {
            "name": schemas.nullable(_GROUP_NAME),
            "description": _DESCRIPTION,
            "owner_id": schemas.nullable(schemas.ID),
        }
    )
)
def update_group(body: Body) -> Refusable[UpdateGroup]:
    """Refused only once the viewer is found to own the group."""
    return _refusable(_update_group, body)


def _create_event(body: Body) -> CreateEvent:
    return CreateEvent(
        title=text(body.get("title"), "title", min_length=1, max_length=TITLE_MAX),
        description=optional_text(body, "description", max_length=DESCRIPTION_MAX) or "",
        starts_at=date_time(body.get("starts_at"), "starts_at"),
    )


@schemas.described(
    schemas.body(
        {
            "title": schemas.text(TITLE_MAX, 1),
            "description": _DESCRIPTION,
            "starts_at": schemas.DATE_TIME,
        },
        required=["title", "starts_at"],
    )
)
def create_event(body: Body) -> Refusable[CreateEvent]:
    """Refused only once the viewer is found to be a member of the group."""
    return _refusable(_create_event, body)


def _answer_event(body: Body) -> AnswerEvent:
    problem = 'response must be "going" or "not_going"'
    return AnswerEvent(choice(body.get("response"), RESPONSES, problem))


@schemas.described(schemas.body({"response": schemas.choice(RESPONSES)}, required=["response"]))
def answer_event(body: Body) -> Refusable[AnswerEvent]:
    """Refused only once the viewer is found to see the event."""
    return _refusable(_answer_event, body)


@schemas.described(schemas.body({"ids": schemas.id_list(MAX_READ_IDS, unique=False)}))
def mark_read(body: Body) -> MarkRead:
    """The `ids` to mark read, or every notification when the body names none."""
    if "ids" not in body:
        return MarkRead(None)
    ids = body["ids"]
    if not isinstance(ids, list) or len(ids) > MAX_READ_IDS:
        raise InvalidRequest(f"ids must be a list of at most {MAX_READ_IDS} notification ids")
    return MarkRead([parse_id(value, "ids") for value in ids])


@schemas.described(
    {
        **schemas.body(
            {"user": schemas.ID, "group": schemas.ID, "up_to": schemas.ID}, required=["up_to"]
        ),
        "oneOf": [{"required": ["user"]}, {"required": ["group"]}],
    }
)
def read_conversation(body: Body) -> ReadConversation:
    """Exactly one of `user` and `group`, and `up_to` (refused after the conversation's
    checks: an unknown user or group is 404 before a bad `up_to` is 400)."""
    if ("user" in body) == ("group" in body):
        raise InvalidRequest("give either user or group")
    user_id = parse_id(body["user"], "user") if "user" in body else None
    group_id = parse_id(body["group"], "group") if "group" in body else None
    return ReadConversation(
        user_id, group_id, _refusable(lambda given: parse_id(given.get("up_to"), "up_to"), body)
    )


def media_ids(body: Body) -> list[int]:
    """The optional upload ids of a post or comment: at most a few, no repeats."""
    return id_list(body.get("media_ids", []), "media_ids", MAX_ATTACHED)


def _privacy(body: Body, group_id: int | None) -> str:
    """`privacy`, public when absent; a group post is seen by the group, so it stays public."""
    value = body.get("privacy")
    if value is None:
        return PUBLIC
    problem = 'privacy must be "public", "followers" or "private"'
    privacy = choice(value, PRIVACY_LEVELS, problem)
    if group_id is not None and privacy != PUBLIC:
        raise InvalidRequest("a group post is seen by the group's members: privacy must be public")
    return privacy


def _allowed_user_ids(body: Body, privacy: str) -> list[int]:
    """The readers of a private post; the field belongs to private posts only."""
    value = body.get("allowed_user_ids")
    if value is None:
        return []
    if privacy != PRIVATE:
        raise InvalidRequest('allowed_user_ids is only for privacy "private"')
    return id_list(value, "allowed_user_ids", MAX_ALLOWED_USERS)


def _post_content(body: Body, group_id: int | None) -> PostContent:
    content = text(body.get("content"), "content", min_length=1, max_length=POST_MAX, content=True)
    privacy = _privacy(body, group_id)
    return PostContent(
        content=content,
        privacy=privacy,
        allowed_user_ids=_allowed_user_ids(body, privacy),
        media_ids=media_ids(body),
    )


@schemas.described(_CREATE_POST)
def create_post(body: Body) -> CreatePost:
    """A bad `group_id` is refused at once; the rest once the viewer is found to be a member of
    the group."""
    group_id = optional_id(body.get("group_id"), "group_id")
    return CreatePost(group_id, _refusable(lambda body: _post_content(body, group_id), body))


def _create_comment(body: Body) -> CreateComment:
    content = text(
        body.get("content"), "content", min_length=1, max_length=COMMENT_MAX, content=True
    )
    return CreateComment(content, media_ids(body))


@schemas.described(
    schemas.body(
        {"content": schemas.text(COMMENT_MAX, 1, content=True), "media_ids": _MEDIA_IDS},
        required=["content"],
    )
)
def create_comment(body: Body) -> Refusable[CreateComment]:
    """Refused only once the viewer is found to see the post."""
    return _refusable(_create_comment, body)


def _given(body: Body, field: str, check: Callable[[object], T]) -> T | None:
    """A field's checked value, or None when the body does not name it."""
    return check(body[field]) if field in body else None


@schemas.described(
    schemas.body(
        {
            "display_name": _DISPLAY_NAME,
            "about": schemas.text(ABOUT_MAX),
            "is_private": schemas.BOOLEAN,
            "avatar_media_id": schemas.nullable(schemas.ID),
            "show_presence": schemas.BOOLEAN,
        }
    )
)
def update_profile(body: Body) -> UpdateProfile:
    """The fields a profile edit names, checked in this order; null removes the avatar."""
    return UpdateProfile(
        display_name=_given(
            body,
            "display_name",
            lambda value: text(value, "display_name", min_length=1, max_length=DISPLAY_NAME_MAX),
        ),
        about=_given(body, "about", lambda value: text(value, "about", max_length=ABOUT_MAX)),
        is_private=_given(body, "is_private", lambda value: boolean(value, "is_private")),
        avatar_media_id=(
            optional_id(body["avatar_media_id"], "avatar_media_id")
            if "avatar_media_id" in body
            else KEEP
        ),
        show_presence=_given(body, "show_presence", lambda value: boolean(value, "show_presence")),
    )
