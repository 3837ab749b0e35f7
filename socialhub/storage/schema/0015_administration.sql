-- Administration: deactivated accounts, reports of content by users, and the audit log of
-- every administrator's action.

-- When the account was deactivated; NULL while it is active. A deactivated user cannot log in,
-- has no session, and is hidden (profile, posts) from everyone but administrators.
ALTER TABLE users ADD COLUMN deactivated_at BIGINT;

-- A user's report of a post, comment, message or user. The target is kept by kind and id, with
-- no foreign key: a report outlives the content it is about (an administrator may delete it).
CREATE TABLE reports (
    id BIGSERIAL PRIMARY KEY,
    reporter_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_kind TEXT NOT NULL,           -- post, comment, message or user
    target_id BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT,                  -- NULL while open
    resolved_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    note TEXT                            -- the resolving administrator's note, if any
);

-- The open reports, which administrators work through.
CREATE INDEX reports_open ON reports (id) WHERE resolved_at IS NULL;

-- Every administrator's action, written in the transaction of the action. `actor_id` is the
-- administrator, or NULL for the command line; it has no foreign key, so that the log keeps
-- its rows when an actor's account is deleted. `detail` is a JSON object.
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    actor_id BIGINT,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id BIGINT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL
)
