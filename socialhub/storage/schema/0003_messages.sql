-- Private and group messages, and the client ids that make resending a frame idempotent.

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    sender_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    recipient_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    group_id BIGINT REFERENCES groups (id) ON DELETE CASCADE,
    -- A private conversation is keyed by its two user ids, the smaller first, so both
    -- directions of one conversation share one index range.
    pair_low BIGINT,
    pair_high BIGINT,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX messages_by_pair ON messages (pair_low, pair_high, id);
CREATE INDEX messages_by_group ON messages (group_id, id);

-- A client id is remembered for 24 hours per user: a resent frame gets the original ack.
CREATE TABLE client_message_ids (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    message_id BIGINT REFERENCES messages (id) ON DELETE CASCADE,
    acked_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE INDEX client_message_ids_by_age ON client_message_ids (acked_at);
