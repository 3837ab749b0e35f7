"""The JSON shapes of the contract's objects, built from store records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from socialhub.delivery.frames import message_frame
from socialhub.handlers.membership import role
from socialhub.http.rest.media import media_summary
from socialhub.storage.stores.account_export import Record
from socialhub.storage.stores.audit import AuditRecord
from socialhub.storage.stores.conversations import Conversation
from socialhub.storage.stores.events import Event
from socialhub.storage.stores.follows import ACCEPTED, PENDING, Profile
from socialhub.storage.stores.groups import Group
from socialhub.storage.stores.notifications import Notification
from socialhub.storage.stores.posts import Comment, Post
from socialhub.storage.stores.registration_tokens import RegistrationToken
from socialhub.storage.stores.reports import Report
from socialhub.storage.stores.sessions import Session
from socialhub.storage.stores.users import User

# The viewer's follows row towards a user, as the user object's `follow_status`.
FOLLOW_STATUS = {None: "none", PENDING: "pending", ACCEPTED: "following"}


def rfc3339(timestamp: int) -> str:
    """Unix seconds as the contract's `created_at`: RFC 3339 in UTC, e.g. 2023-01-01T12:00:00Z."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_object(profile: Profile, viewer_id: int) -> dict[str, Any]:
    """The user object; `email` and `show_presence` only for the user themself,
    `follow_status` for everyone else.

    `profile` must have been read for this viewer (its follow status is theirs).
    """
    user = profile.user
    body: dict[str, Any] = {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "about": user.about,
        "is_private": user.is_private,
        "is_admin": user.is_admin,
        "created_at": rfc3339(user.created_at),
        "followers_count": profile.followers_count,
        "following_count": profile.following_count,
        "avatar_url": user.avatar_url,
    }
    if user.id == viewer_id:
        body["email"] = user.email
        body["show_presence"] = user.show_presence
    else:
        body["follow_status"] = FOLLOW_STATUS[profile.viewer_status]
    return body


def follow_request_object(requester: Profile, requested_at: int, viewer_id: int) -> dict[str, Any]:
    return {"user": user_object(requester, viewer_id), "created_at": rfc3339(requested_at)}


def user_summary(user: User) -> dict[str, Any]:
    """The short form of a user inside other objects."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "avatar_url": user.avatar_url,
    }


def post_object(post: Post) -> dict[str, Any]:
    """The post object; `liked_by_me` is the viewer's it was read for."""
    return {
        "id": post.id,
        "author": user_summary(post.author),
        "content": post.content,
        "privacy": post.privacy,
        "group_id": post.group_id,
        "media": [media_summary(media) for media in post.media],
        "created_at": rfc3339(post.created_at),
        "like_count": post.like_count,
        "comment_count": post.comment_count,
        "liked_by_me": post.liked_by_me,
    }


def comment_object(comment: Comment) -> dict[str, Any]:
    """The comment object, with its author as a user-summary."""
    return {
        "id": comment.id,
        "post_id": comment.post_id,
        "author": user_summary(comment.author),
        "content": comment.content,
        "media": [media_summary(media) for media in comment.media],
        "created_at": rfc3339(comment.created_at),
    }


def group_object(group: Group, viewer_id: int) -> dict[str, Any]:
    """The group object; `membership` is the viewer's, so `group` must be read for them."""
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "owner_id": group.owner_id,
        "member_count": group.member_count,
        "created_at": rfc3339(group.created_at),
        "membership": role(group, viewer_id),
    }


def join_request_object(user: User, requested_at: int) -> dict[str, Any]:
    return {"user": user_summary(user), "created_at": rfc3339(requested_at)}


def notification_object(notification: Notification) -> dict[str, Any]:
    """The notification object; the ids it refers to appear only when set."""
    return {
        "id": notification.id,
        "type": notification.type,
        "message": notification.message,
        "is_read": notification.is_read,
        "created_at": rfc3339(notification.created_at),
        **notification.references(),
    }


def event_object(event: Event) -> dict[str, Any]:
    """The event object; `my_response` is the answer of the viewer it was read for, or None."""
    return {
        "id": event.id,
        "group_id": event.group_id,
        "creator_id": event.creator_id,
        "title": event.title,
        "description": event.description,
        "starts_at": rfc3339(event.starts_at),
        "created_at": rfc3339(event.created_at),
        "going_count": event.going_count,
        "not_going_count": event.not_going_count,
        "my_response": event.my_response,
    }


def conversation_object(conversation: Conversation) -> dict[str, Any]:
    """A conversation in the viewer's list: with a user (a user-summary) or a group."""
    peer, last = conversation.peer, conversation.last_message
    group = None
    if conversation.group_id is not None:
        group = {"id": conversation.group_id, "name": conversation.group_name}
    return {
        "kind": "private" if peer is not None else "group",
        "user": None if peer is None else user_summary(peer),
        "group": group,
        "last_message": None if last is None else message_frame(last),
        "unread_count": conversation.unread_count,
        "read_up_to": conversation.read_up_to,
    }


def _optional_time(timestamp: int | None) -> str | None:
    return None if timestamp is None else rfc3339(timestamp)


def registration_token_object(
    token: RegistrationToken, secret: str | None = None
) -> dict[str, Any]:
    """A registration token as administrators see it; `token`, its secret, only when made."""
    body: dict[str, Any] = {
        "id": token.id,
        "uses_allowed": token.uses_allowed,
        "uses": token.uses,
        "expires_at": _optional_time(token.expires_at),
        "created_by": token.created_by,
        "created_at": rfc3339(token.created_at),
    }
    if secret is not None:
        body["token"] = secret
    return body


def session_object(session: Session, current_id: int) -> dict[str, Any]:
    """One of the viewer's sessions; `current` marks the one the request came with."""
    return {
        "id": session.id,
        "created_at": rfc3339(session.created_at),
        "last_used_at": rfc3339(session.last_used_at),
        "client": session.client,
        "current": session.id == current_id,
    }


def export_document(sections: dict[str, list[Record]]) -> dict[str, Any]:
    """An account's export: the store's sections, with each upload's URL (also listed on the
    post or comment it is attached to) and the profile as one object. Times stay Unix seconds,
    as stored."""
    media = [{**record, "url": f"/media/{record['name']}"} for record in sections["media"]]
    for kind, column in (("posts", "post_id"), ("comments", "comment_id")):
        for item in sections[kind]:
            attached = (m for m in media if m[column] == item["id"])
            item["media"] = [m["url"] for m in sorted(attached, key=lambda m: m["ordinal"])]
    (profile,) = sections["profile"]
    return {**sections, "profile": profile, "media": media}


def account_object(user: User, last_seen: int | None = None) -> dict[str, Any]:
    """A user as administrators see them (GET /api/admin/users): with the email, whether the
    account is active, and when a session of theirs was last used."""
    return {
        **user_summary(user),
        "email": user.email,
        "status": "active" if user.is_active else "deactivated",
        "is_admin": user.is_admin,
        "created_at": rfc3339(user.created_at),
        "last_seen": _optional_time(last_seen),
    }


def report_object(report: Report) -> dict[str, Any]:
    return {
        "id": report.id,
        "kind": report.target_kind,
        "target_id": report.target_id,
        "reason": report.reason,
        "reporter": user_summary(report.reporter),
        "created_at": rfc3339(report.created_at),
        "status": "open" if report.resolved_at is None else "resolved",
        "resolved_at": _optional_time(report.resolved_at),
        "resolved_by": report.resolved_by,
        "note": report.note,
    }


def audit_object(entry: AuditRecord) -> dict[str, Any]:
    return {
        "id": entry.id,
        "actor_id": entry.actor_id,
        "action": entry.action,
        "target_kind": entry.target_kind,
        "target_id": entry.target_id,
        "detail": entry.detail,
        "created_at": rfc3339(entry.created_at),
    }
