-- Deleting accounts, and what a user's list of their sessions shows.

-- A short description of the client that opened a session ("Firefox on Linux"), read from its
-- User-Agent at login. Sessions opened before this column existed show an empty one.
ALTER TABLE sessions ADD COLUMN client TEXT NOT NULL DEFAULT '';

-- A deleted user's messages stay in other users' histories as tombstones, so a message must
-- outlive its sender and its recipient. PostgreSQL dropped those foreign keys in 0012; SQLite
-- kept them (a constraint leaves an SQLite table only with a copy of the table), and their
-- ON DELETE CASCADE would take the messages away with the user. SQLite copies the table here.
-- Dropping the old table deletes its rows first, which cascades to reactions and
-- message_changes: they are kept aside and put back. AUTOINCREMENT's counter is carried over,
-- so no id of a deleted message is handed out again.
/* sqlite only */ CREATE TABLE messages_rebuilt (
    id BIGSERIAL PRIMARY KEY,
    sender_id BIGINT NOT NULL,
    recipient_id BIGINT,
    group_id BIGINT REFERENCES groups (id) ON DELETE CASCADE,
    pair_low BIGINT,
    pair_high BIGINT,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    stream_pos BIGINT,
    client_id TEXT,
    reply_to BIGINT,
    edited_at BIGINT,
    deleted_at BIGINT
);
/* sqlite only */ INSERT INTO messages_rebuilt (id, sender_id, recipient_id, group_id, pair_low,
    pair_high, content, created_at, stream_pos, client_id, reply_to, edited_at, deleted_at)
    SELECT id, sender_id, recipient_id, group_id, pair_low, pair_high, content, created_at,
    stream_pos, client_id, reply_to, edited_at, deleted_at FROM messages;
/* sqlite only */ CREATE TABLE reactions_kept AS SELECT * FROM reactions;
/* sqlite only */ CREATE TABLE message_changes_kept AS SELECT * FROM message_changes;
/* sqlite only */ CREATE TABLE messages_counter_kept AS
    SELECT seq FROM sqlite_sequence WHERE name = 'messages';
/* sqlite only */ DROP TABLE messages;
/* sqlite only */ ALTER TABLE messages_rebuilt RENAME TO messages;
/* sqlite only */ INSERT INTO reactions SELECT * FROM reactions_kept;
/* sqlite only */ INSERT INTO message_changes SELECT * FROM message_changes_kept;
/* sqlite only */ DELETE FROM sqlite_sequence WHERE name = 'messages';
/* sqlite only */ INSERT INTO sqlite_sequence (name, seq)
    SELECT 'messages', MAX(seq) FROM
    (SELECT seq FROM messages_counter_kept UNION ALL SELECT MAX(id) FROM messages)
    HAVING MAX(seq) IS NOT NULL;
/* sqlite only */ DROP TABLE reactions_kept;
/* sqlite only */ DROP TABLE message_changes_kept;
/* sqlite only */ DROP TABLE messages_counter_kept;
-- The indexes went with the old table: the same ones again (0008, 0010, 0012).
/* sqlite only */ CREATE INDEX messages_by_pair ON messages (pair_low, pair_high, id)
    WHERE pair_low IS NOT NULL;
/* sqlite only */ CREATE INDEX messages_by_group ON messages (group_id, id)
    WHERE group_id IS NOT NULL;
/* sqlite only */ CREATE INDEX messages_by_group_stream ON messages (group_id, stream_pos)
    WHERE group_id IS NOT NULL;
/* sqlite only */ CREATE INDEX messages_by_recipient_stream ON messages (recipient_id, stream_pos)
    WHERE recipient_id IS NOT NULL;
/* sqlite only */ CREATE INDEX messages_by_sender_stream ON messages (sender_id, stream_pos);
/* sqlite only */ CREATE INDEX messages_by_client_id ON messages (sender_id, client_id)
    WHERE client_id IS NOT NULL
