-- Sign-ins under way at the OpenID provider: each is taken once, when the
-- provider sends the person back, so a replayed callback finds nothing.
-- Only the SHA-256 of the `state` is stored; the nonce and the PKCE
-- verifier are good for this one sign-in and for ten minutes.
CREATE TABLE sign_in_attempts (
    state_hash    BYTEA PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('veteran', 'operator')),
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX sign_in_attempts_expires_at ON sign_in_attempts (expires_at);

-- How each session was started: at the OpenID provider, whose session
-- signing out ends too, or by development's mock sign-in (every session
-- before this one).
ALTER TABLE sessions ADD COLUMN signed_in_with TEXT NOT NULL DEFAULT 'mock'
    CHECK (signed_in_with IN ('provider', 'mock'));
ALTER TABLE operator_sessions ADD COLUMN signed_in_with TEXT NOT NULL DEFAULT 'mock'
    CHECK (signed_in_with IN ('provider', 'mock'));
