-- Storing a message is the hot path of the whole server: every index entry, foreign-key
-- check and extra row it writes is paid thousands of times a second. This migration removes
-- what a message row paid for nothing.
--
-- 1. Index entries no query reads. A private message has no group_id and a group message no
--    pair or recipient, yet each was entered, as NULL, into the other kind's indexes. Every
--    query on these indexes asks `column = ?`, which implies IS NOT NULL, so partial indexes
--    serve them unchanged (PostgreSQL and SQLite both prove it).
DROP INDEX messages_by_pair;
CREATE INDEX messages_by_pair ON messages (pair_low, pair_high, id) WHERE pair_low IS NOT NULL;
DROP INDEX messages_by_group;
CREATE INDEX messages_by_group ON messages (group_id, id) WHERE group_id IS NOT NULL;
DROP INDEX messages_by_group_stream;
CREATE INDEX messages_by_group_stream ON messages (group_id, stream_pos) WHERE group_id IS NOT NULL;
DROP INDEX messages_by_recipient_stream;
CREATE INDEX messages_by_recipient_stream ON messages (recipient_id, stream_pos) WHERE recipient_id IS NOT NULL;

-- 2. The client-id claims. Since 0010 a message carries its client id, and messages_by_client_id
--    finds a resend's original: the separate claim row (a heap row, two index entries and a
--    foreign-key check per message) only repeated it. Claims of messages stored before 0010 are
--    copied onto their messages first, so a resend within 24 hours of the upgrade is still known.
UPDATE messages SET client_id = (
    SELECT c.client_id FROM client_message_ids c WHERE c.message_id = messages.id
) WHERE client_id IS NULL AND id IN (SELECT message_id FROM client_message_ids);
DROP TABLE client_message_ids;

-- 3. Foreign keys to users on every message: each check takes a KEY SHARE lock on the sender's
--    and the recipient's rows. The sender is the authenticated user, the batch's own statement
--    checks that the recipient exists (storage/stores/message_rows.py), and a deleted user's
--    messages stay as tombstones (0016, which drops these keys in SQLite too).
ALTER TABLE messages DROP CONSTRAINT messages_sender_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_recipient_id_fkey
