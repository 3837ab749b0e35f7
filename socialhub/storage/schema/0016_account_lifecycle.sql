-- What a user's list of their sessions shows of each: a short description of the client that
-- opened it ("Firefox on Linux"), read from its User-Agent at login. Sessions opened before
-- this column existed show an empty one.
ALTER TABLE sessions ADD COLUMN client TEXT NOT NULL DEFAULT ''
