-- Stream positions: every frame stored for someone (a message, a notification) gets the next
-- position of one counter, taken inside the writing transaction. The counter row stays locked
-- until that transaction commits, so positions are handed out in commit order, with no gaps,
-- across every process: a reader who has seen position p has missed nothing below it.

CREATE TABLE stream_position (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL,
    epoch TEXT                            -- set at first start: cursors of another database are unknown
);

INSERT INTO stream_position (id, position) VALUES (1, 0);

ALTER TABLE messages ADD COLUMN stream_pos BIGINT;
ALTER TABLE notifications ADD COLUMN stream_pos BIGINT;

-- What a user missed since a position: their private messages both ways, their groups'
-- messages, their notifications.
CREATE INDEX messages_by_recipient_stream ON messages (recipient_id, stream_pos);
CREATE INDEX messages_by_sender_stream ON messages (sender_id, stream_pos);
CREATE INDEX messages_by_group_stream ON messages (group_id, stream_pos);
CREATE INDEX notifications_by_user_stream ON notifications (user_id, stream_pos);
