-- Registration tokens, made by administrators when registration needs one. Only the SHA-256
-- of a token is stored: it is shown once, when it is made. uses_allowed NULL is unlimited;
-- expires_at NULL never expires.
CREATE TABLE registration_tokens (
    id BIGSERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    uses_allowed BIGINT,
    uses BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);

-- One-time tokens mailed to an account's owner: a password reset or an email verification.
-- Only the SHA-256 is stored; a token is deleted when it is used.
CREATE TABLE account_tokens (
    id BIGSERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX account_tokens_by_user ON account_tokens (user_id);

-- TRUE for an account registered while email verification is required, until its owner
-- follows the mailed link.
ALTER TABLE users ADD COLUMN awaiting_verification BOOLEAN NOT NULL DEFAULT FALSE
