-- Accounts and sessions. Times are Unix seconds (BIGINT) on both engines.

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL UNIQUE,   -- lower-cased: usernames are unique case-insensitively
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,      -- case-folded
    password_hash TEXT NOT NULL,
    display_name TEXT NOT NULL,
    about TEXT NOT NULL DEFAULT '',
    is_private BOOLEAN NOT NULL DEFAULT FALSE,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

-- Only the SHA-256 of a session token is stored: a leaked table opens no session.
CREATE TABLE sessions (
    id BIGSERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);

CREATE INDEX sessions_by_user ON sessions (user_id);
