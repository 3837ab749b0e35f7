-- Follows and follow requests, and searching users by display name.

-- Display names are searched case-insensitively for all of Unicode, so, like `username_key`, a
-- case-folded copy (Python's str.casefold) is stored and kept up to date by the server whenever
-- the name is set. Names stored before this migration get LOWER, which is the same for ASCII.
ALTER TABLE users ADD COLUMN display_name_key TEXT;
UPDATE users SET display_name_key = LOWER(display_name);

-- One row per follower and followee: `pending` is a request to a private profile, `accepted` a
-- follow. `id` orders lists newest first (the contract's "by id, descending"), also between
-- follows made within the same second.
CREATE TABLE follows (
    id BIGSERIAL PRIMARY KEY,
    follower_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted')),
    created_at BIGINT NOT NULL,
    UNIQUE (follower_id, followee_id),   -- also the index of "whom does A follow"
    CHECK (follower_id <> followee_id)
);

-- Followers lists and counts, and incoming requests, of one user.
CREATE INDEX follows_by_followee ON follows (followee_id, status, id);
