-- Blocking. A row says that `blocker_id` blocked `blocked_id`; the rules it feeds
-- are handlers/policy.py's and the writes' own SQL (follows, private messages, invitations, either
-- direction), the post-visibility rule (the blocked user no longer sees the blocker's posts)
-- and the notification insert (the blocker is told nothing the blocked user does).
-- `id` orders GET /api/blocks newest first, also between blocks made within the same second.
CREATE TABLE blocks (
    id BIGSERIAL PRIMARY KEY,
    blocker_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    UNIQUE (blocker_id, blocked_id),   -- one block per pair; the index of "does A block B"
    CHECK (blocker_id <> blocked_id)
);

-- "Is A blocked by B" from the other side, and the cascade when a blocked user is deleted.
CREATE INDEX blocks_by_blocked ON blocks (blocked_id, blocker_id);
