-- A message remembers the client id it was sent with, so storing a batch of messages needs no
-- second pass to link each claimed client id to its message (group commit: one INSERT for all).

ALTER TABLE messages ADD COLUMN client_id TEXT;

CREATE INDEX messages_by_client_id ON messages (sender_id, client_id) WHERE client_id IS NOT NULL;
