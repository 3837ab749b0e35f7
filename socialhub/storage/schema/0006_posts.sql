-- Posts, who may see a private one, likes and comments, and avatars.
-- Times are Unix seconds (BIGINT). Who sees a post is decided by one rule,
-- socialhub/storage/stores/post_visibility.py; the indexes below serve the lists it filters.
--
-- This file may be applied before or after 0007_media (a database that already had 0007 gets
-- it later), so nothing here refers to the media table: avatar_media_id has no foreign key, and
-- media rows attached to a post or comment are deleted by the code that deletes them.

-- The avatar: which upload (`PATCH /api/users/me {"avatar_media_id"}`), and that upload's file
-- name, copied when it is set so that every user object carries its URL without a join. An
-- upload in use as an avatar is never attached to a post or comment, so it is never deleted.
ALTER TABLE users ADD COLUMN avatar_media_id BIGINT;
ALTER TABLE users ADD COLUMN avatar_name TEXT;
CREATE INDEX users_by_avatar ON users (avatar_media_id) WHERE avatar_media_id IS NOT NULL;

-- A group post (group_id set) is seen by the group's members only; its privacy is 'public'.
CREATE TABLE posts (
    id BIGSERIAL PRIMARY KEY,
    author_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    privacy TEXT NOT NULL CHECK (privacy IN ('public', 'followers', 'private')),
    group_id BIGINT REFERENCES groups (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);

-- Newest first per author (a user's posts, and the feed's own and followed authors) and per
-- group (a group's posts, and the feed's groups); the feed is the union of those ranges.
CREATE INDEX posts_by_author ON posts (author_id, id);
CREATE INDEX posts_by_group ON posts (group_id, id) WHERE group_id IS NOT NULL;

-- The readers of a 'private' post besides its author.
CREATE TABLE post_allowed_users (
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, user_id)
);

-- One like per user and post; the primary key also counts a post's likes.
CREATE TABLE likes (
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (post_id, user_id)
);

CREATE TABLE comments (
    id BIGSERIAL PRIMARY KEY,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A post's comments oldest first, and their count.
CREATE INDEX comments_by_post ON comments (post_id, id);

-- notifications.post_id has no foreign key (see 0002): deleting a post deletes its
-- notifications itself, and this index keeps that (and "was this like notified") cheap.
CREATE INDEX notifications_by_post ON notifications (post_id) WHERE post_id IS NOT NULL;
