"""What the edges hand the handlers, already parsed and checked, and the answer a frame gets.

The edges (ws/frames.py for WebSocket frames, http/rest for request bodies and query strings)
turn wire input into these values with validation.py's checks; handlers never see JSON, a query
string or a protocol object. Nothing here knows storage: handlers translate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias, TypeVar

from socialhub.errors import InvalidRequest

T = TypeVar("T")

# The frame commands are made for every message: slots and not frozen, whose __init__ costs 4x
# (2.7 against 0.6 us).


@dataclass(slots=True)
class PrivateMessage:
    to: int
    content: str
    reply_to: int | None = None  # the message of the conversation it answers


@dataclass(slots=True)
class GroupMessage:
    group_id: int
    content: str
    reply_to: int | None = None


@dataclass(slots=True)
class Broadcast:
    content: str


@dataclass(slots=True)
class Typing:
    """A typing indicator, to exactly one conversation: a user (`to`) or a group."""

    to: int | None
    group_id: int | None


@dataclass(frozen=True)
class React:
    """Add (`on`) or remove one's reaction `emoji` to a message."""

    message_id: int
    emoji: str
    on: bool


@dataclass(frozen=True)
class Edit:
    """Replace the content of one's message."""

    message_id: int
    content: str


@dataclass(frozen=True)
class Delete:
    """Delete a message: one's own, or one of a group one owns."""

    message_id: int


@dataclass(slots=True)
class Answer:
    """What a frame's ack says: a message's id (None when it is not stored, as a broadcast or a
    typing indicator) and its time; both None for a frame that sends no message."""

    message_id: int | None
    timestamp: int | None


# A command as parsed, or why its fields were refused: the refusal waits for the handler's
# check of the resource, whose 404 or 403 the contract puts before a bad field's 400.
Refusable: TypeAlias = T | InvalidRequest


def accepted(parsed: Refusable[T]) -> T:
    """The command, once the handler's checks let it through; else raise its refusal."""
    if isinstance(parsed, InvalidRequest):
        raise parsed
    return parsed


@dataclass(frozen=True)
class HistoryPage:
    """A history page as asked: at most `limit` messages, skipping `offset`, older than
    `before`."""

    limit: int
    offset: int = 0
    before: int | None = None


Paging = Refusable[HistoryPage]


@dataclass(frozen=True)
class PrivateHistory:
    """A page of the viewer's private conversation with another user."""

    user_id: int
    paging: Paging


@dataclass(frozen=True)
class GroupHistory:
    """A page of a group's messages."""

    group_id: int
    paging: Paging


@dataclass(frozen=True)
class Register:
    username: str
    email: str
    password: str
    display_name: str
    token: str | None = None  # a registration token, when registration needs one


@dataclass(frozen=True)
class CreateRegistrationToken:
    uses_allowed: int | None  # None: unlimited
    expires_at: int | None  # Unix seconds; None: never


@dataclass(frozen=True)
class ConfirmReset:
    """A mailed reset token and the password it sets."""

    token: str
    password: str


@dataclass(frozen=True)
class Credentials:
    """A login: a username or an email, and the password."""

    login: str
    password: str


@dataclass(frozen=True)
class ChangePassword:
    old_password: str
    new_password: str


@dataclass(frozen=True)
class ConfirmPassword:
    """The password, asked again before an action that cannot be undone."""

    password: str


@dataclass(frozen=True)
class CreateGroup:
    name: str
    description: str


@dataclass(frozen=True)
class Invite:
    group_id: int
    user_id: int


@dataclass(frozen=True)
class UpdateGroup:
    """A group's edit: None leaves a field as it is."""

    name: str | None
    description: str | None
    owner_id: int | None


@dataclass(frozen=True)
class CreateEvent:
    title: str
    description: str
    starts_at: int


@dataclass(frozen=True)
class AnswerEvent:
    response: str


@dataclass(frozen=True)
class MarkRead:
    """The notifications to mark read: these ids, or every one when None."""

    ids: list[int] | None


@dataclass(frozen=True)
class ReadConversation:
    """Move the viewer's read marker of a conversation, with a user or a group, to `up_to`:
    a bad `up_to` is refused after the conversation's checks."""

    user_id: int | None
    group_id: int | None
    up_to: Refusable[int]


@dataclass(frozen=True)
class PostContent:
    """What a new post says and who may read it."""

    content: str
    privacy: str
    allowed_user_ids: list[int]
    media_ids: list[int]


@dataclass(frozen=True)
class CreatePost:
    """A new post: its group is checked first (404, 403), its content after."""

    group_id: int | None
    post: Refusable[PostContent]


@dataclass(frozen=True)
class CreateComment:
    content: str
    media_ids: list[int]


class Keep(Enum):
    """A profile field the edit does not change (for one that null clears)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class UpdateProfile:
    """A profile edit: None (or KEEP for the avatar, which null removes) changes nothing."""

    display_name: str | None = None
    about: str | None = None
    is_private: bool | None = None
    avatar_media_id: int | Keep | None = KEEP
    show_presence: bool | None = None


@dataclass(frozen=True)
class CreateAccount:
    """An account an administrator creates (no session is opened for it)."""

    account: Register
    is_admin: bool


@dataclass(frozen=True)
class FileReport:
    """A user's report of a post, comment, message or user, with why."""

    kind: str
    target_id: int
    reason: str
