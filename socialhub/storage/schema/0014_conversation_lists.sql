-- When a membership was accepted: a user's groups without messages are listed most recently
-- joined first. A row created as `invited` or `requested` keeps its created_at; joined_at is
-- written when it becomes `member`.
ALTER TABLE group_members ADD COLUMN joined_at BIGINT;

UPDATE group_members SET joined_at = created_at WHERE status = 'member'
