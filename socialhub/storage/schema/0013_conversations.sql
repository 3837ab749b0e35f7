-- Conversations as chat apps show them: who one talks with, how far one has read, replies,
-- reactions, edits, deletions and whether one shows presence.

-- A private conversation, once it holds a message: one row per pair of users (the smaller id
-- first, as in messages), written by its first message only. A user's conversation list is
-- read from here and from their memberships, never by scanning their messages.
CREATE TABLE private_conversations (
    pair_low BIGINT NOT NULL,
    pair_high BIGINT NOT NULL,
    PRIMARY KEY (pair_low, pair_high)
);

CREATE INDEX private_conversations_by_high ON private_conversations (pair_high, pair_low);

INSERT INTO private_conversations (pair_low, pair_high)
    SELECT DISTINCT pair_low, pair_high FROM messages WHERE pair_low IS NOT NULL;

-- How far a user has read a conversation: a private one (peer_id, the other user) or a group.
-- A marker only moves forward.
CREATE TABLE read_markers (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    peer_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    group_id BIGINT REFERENCES groups (id) ON DELETE CASCADE,
    up_to BIGINT NOT NULL,
    CHECK ((peer_id IS NULL) <> (group_id IS NULL))
);

CREATE UNIQUE INDEX read_markers_private ON read_markers (user_id, peer_id) WHERE peer_id IS NOT NULL;
CREATE UNIQUE INDEX read_markers_group ON read_markers (user_id, group_id) WHERE group_id IS NOT NULL;

-- A reply names the message it answers; an edit keeps the latest content and when it was made;
-- a deletion keeps the row (a tombstone in history) and when it was deleted.
ALTER TABLE messages ADD COLUMN reply_to BIGINT;
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_at BIGINT;

-- One row per user, message and emoji; `id` orders emojis by their first use.
CREATE TABLE reactions (
    id BIGSERIAL PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji TEXT NOT NULL,
    UNIQUE (message_id, user_id, emoji)
);

-- Edits, deletions and reactions are stored frames: each takes a stream position and is replayed
-- on resume like a message. A change copies its message's conversation (author, recipient or
-- group), so a replay finds it by the same indexes as messages.
CREATE TABLE message_changes (
    id BIGSERIAL PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('edit', 'delete', 'reaction')),
    actor_id BIGINT NOT NULL,      -- who edited, deleted or reacted
    sender_id BIGINT NOT NULL,     -- the message's author
    recipient_id BIGINT,
    group_id BIGINT,
    content TEXT,                  -- an edit's new content
    emoji TEXT,                    -- a reaction's emoji, and whether it was added or removed
    is_on BOOLEAN,
    created_at BIGINT NOT NULL,
    stream_pos BIGINT NOT NULL
);

CREATE INDEX message_changes_by_sender_stream ON message_changes (sender_id, stream_pos);
CREATE INDEX message_changes_by_recipient_stream ON message_changes (recipient_id, stream_pos) WHERE recipient_id IS NOT NULL;
CREATE INDEX message_changes_by_group_stream ON message_changes (group_id, stream_pos) WHERE group_id IS NOT NULL;

-- Whether the user's presence is shown to their audience.
ALTER TABLE users ADD COLUMN show_presence BOOLEAN NOT NULL DEFAULT TRUE
