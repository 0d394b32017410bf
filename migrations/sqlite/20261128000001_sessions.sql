-- Signed-in veterans. The cookie holds a random token; only its SHA-256 is
-- stored, so a copy of this table cannot be used to sign in. Timestamps are
-- fixed-width RFC 3339 text in UTC, so text order is time order.
CREATE TABLE sessions (
    token_hash   BLOB PRIMARY KEY,
    user_id      TEXT NOT NULL,
    veteran_name TEXT NOT NULL,
    icn          TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
) STRICT;

CREATE INDEX sessions_expires_at ON sessions (expires_at);
