-- Groups, their memberships, and notifications. Times are Unix seconds (BIGINT).

CREATE TABLE groups (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,              -- case-folded name: search is case-insensitive for all of Unicode
    description TEXT NOT NULL DEFAULT '',
    owner_id BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);

-- One row per user who is a member of, invited to, or asking to join a group. `is_accepted` is
-- the original API's flag; it is derived from `status`, so the two can never disagree.
CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('member', 'invited', 'requested')),
    is_accepted BOOLEAN GENERATED ALWAYS AS (status = 'member') STORED,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);

CREATE INDEX group_members_by_user ON group_members (user_id);

-- post_id and event_id get no foreign key: their tables come later, and SQLite cannot add a
-- constraint to an existing table; deleting a post or event deletes its notifications itself.
CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    message TEXT NOT NULL,
    is_read BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    actor_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    group_id BIGINT REFERENCES groups (id) ON DELETE CASCADE,
    post_id BIGINT,
    event_id BIGINT
);

-- Newest-first pages of one user's notifications; the partial index keeps unread counts cheap
-- for users with a long history.
CREATE INDEX notifications_by_user ON notifications (user_id, id);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE NOT is_read;
