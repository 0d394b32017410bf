-- Signed-in veterans. The cookie holds a random token; only its SHA-256 is
-- stored, so a copy of this table cannot be used to sign in.
CREATE TABLE sessions (
    token_hash   BYTEA PRIMARY KEY,
    user_id      TEXT NOT NULL,
    veteran_name TEXT NOT NULL,
    icn          TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX sessions_expires_at ON sessions (expires_at);
