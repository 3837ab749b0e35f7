"""May this viewer see this post? The one rule, written once, as one SQL condition.

Every read of posts applies it in its WHERE clause: a single post, the feed, a user's posts, a
group's posts, and through them likes and comments (a post one cannot see cannot be liked or
commented on, and its comments are not listed). The notification of a new post uses it too,
for each follower at once. It is the one rule that lives in storage rather than in handlers/
(beside policy.py's follow-graph rules): as SQL, a page of posts is filtered in the query, not
post by post, and the stores that import it need nothing from the handlers.

A post is visible to:
- its author, always;
- nobody the author blocks, whatever follows below: not even in a group they share;
- for a group post: the group's accepted members, and nobody else;
- otherwise, when the author's profile is private: the author's accepted followers only, even
  for a `public` post (and, for `private`, only those of them it lists);
- `public`: everyone signed in;
- `followers`: the author's accepted followers;
- `private`: the users listed when it was created who are (still) accepted followers.
A pending follow request grants nothing. And none of it, but for administrators, while the
author's account is deactivated (users.shown_to). docs/privacy.md has the same rule as a table.

The condition refers to the post as `p` and its author (a users row) as `a`.
"""

from __future__ import annotations

from dataclasses import dataclass

from socialhub.storage.stores.users import shown_to

# `{viewer}` is the viewing user's id: a `?` placeholder, or a column of the enclosing query.
_RULE = (
    "((p.author_id = {viewer}"
    " OR (NOT EXISTS (SELECT 1 FROM blocks vb"
    " WHERE vb.blocker_id = p.author_id AND vb.blocked_id = {viewer})"
    " AND ((p.group_id IS NOT NULL AND EXISTS (SELECT 1 FROM group_members vm"
    " WHERE vm.group_id = p.group_id AND vm.user_id = {viewer} AND vm.is_accepted))"
    " OR (p.group_id IS NULL AND ((p.privacy = 'public' AND NOT a.is_private)"
    " OR (EXISTS (SELECT 1 FROM follows vf WHERE vf.follower_id = {viewer}"
    " AND vf.followee_id = p.author_id AND vf.status = 'accepted')"
    " AND (p.privacy <> 'private' OR EXISTS (SELECT 1 FROM post_allowed_users va"
    " WHERE va.post_id = p.id AND va.user_id = {viewer}))))))))"
    " AND " + shown_to("{viewer}", "a") + ")"
)
_VIEWER_USES = _RULE.count("{viewer}")


@dataclass(frozen=True)
class Condition:
    """A piece of SQL with `?` placeholders, and the arguments that fill them, in order."""

    sql: str
    args: tuple[object, ...]


def visible_to(viewer_id: int) -> Condition:
    """Post `p` (author `a`) is visible to the user `viewer_id`."""
    return Condition(_RULE.format(viewer="?"), (viewer_id,) * _VIEWER_USES)


def visible_to_each(viewer_column: str) -> str:
    """Post `p` (author `a`) is visible to the user whose id is in `viewer_column` of each row
    (e.g. `f.follower_id`): the same rule for many viewers in one statement."""
    return _RULE.format(viewer=viewer_column)
