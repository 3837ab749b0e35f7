-- Uploaded images. The bytes live in --media-dir under `name`; the row says whose
-- upload it is and what it is attached to: nothing yet, one post, or one comment.
-- post_id and comment_id have no foreign keys yet: posts and comments come in a later
-- migration, which adds them (or the cleanup) together with those tables.
CREATE TABLE media (
    id BIGSERIAL PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL UNIQUE,           -- the random file name, also the URL's last segment
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,                -- bytes stored (after re-encoding)
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    post_id BIGINT,
    comment_id BIGINT,
    ordinal INTEGER,                     -- its place in the media list of its post or comment
    CHECK (post_id IS NULL OR comment_id IS NULL)
);

-- A user's uploads (claiming them, finding unattached ones), and the media of a post or comment.
CREATE INDEX media_by_owner ON media (owner_id, id);
CREATE INDEX media_by_post ON media (post_id, ordinal) WHERE post_id IS NOT NULL;
CREATE INDEX media_by_comment ON media (comment_id, ordinal) WHERE comment_id IS NOT NULL;
