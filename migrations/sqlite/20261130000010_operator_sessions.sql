-- Signed-in operators, kept apart from veterans' sessions: another cookie,
-- another table. Only the token's SHA-256 is stored.
CREATE TABLE operator_sessions (
    token_hash  BLOB PRIMARY KEY,
    operator_id TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;

CREATE INDEX operator_sessions_expires_at ON operator_sessions (expires_at);

-- The console counts provider calls by hour.
CREATE INDEX attempts_at ON attempts (at);
