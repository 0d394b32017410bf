-- A veteran's request for an Intent to File, kept from intake until the
-- provider confirms it. The veteran's ICN and name sit in their own columns
-- (never in job payloads) so that they can be encrypted in place.
CREATE TABLE itf_requests (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL,
    icn              TEXT NOT NULL,
    veteran_name     TEXT NOT NULL,
    itf_type         TEXT NOT NULL CHECK (itf_type IN ('compensation', 'pension', 'survivor')),
    state            TEXT NOT NULL CHECK (state IN ('pending', 'active', 'needs_attention')),
    -- When we recorded the request: the intent date. Never changes.
    received_at      TIMESTAMPTZ NOT NULL,
    shown_pending    BOOLEAN NOT NULL,
    -- The provider's ITF once confirmed; dates as the provider wrote them,
    -- with their offset (RFC 3339).
    provider_itf_id  TEXT,
    creation_date    TEXT,
    expiration_date  TEXT,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

-- At most one open request per veteran and ITF type, enforced here rather
-- than by reading first, so concurrent intakes cannot both insert.
CREATE UNIQUE INDEX itf_requests_one_open
    ON itf_requests (icn, itf_type) WHERE state IN ('pending', 'needs_attention');

CREATE INDEX itf_requests_pending_received ON itf_requests (received_at) WHERE state = 'pending';

-- Work for the worker. The payload names the request only.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('ensure_itf')),
    request_id       TEXT NOT NULL REFERENCES itf_requests (id),
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'stopped')),
    run_at           TIMESTAMPTZ NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    taken_over       BOOLEAN NOT NULL DEFAULT FALSE,
    lease_owner      TEXT,
    lease_token      TEXT,
    lease_expires_at TIMESTAMPTZ,
    last_error       TEXT,
    received_at      TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE INDEX jobs_claimable ON jobs (received_at) WHERE state IN ('queued', 'running');

-- Every call to the provider made for a request.
CREATE TABLE attempts (
    id              BIGSERIAL PRIMARY KEY,
    request_id      TEXT NOT NULL REFERENCES itf_requests (id),
    job_id          TEXT NOT NULL REFERENCES jobs (id),
    at              TIMESTAMPTZ NOT NULL,
    call            TEXT NOT NULL CHECK (call IN ('get', 'post')),
    outcome         TEXT NOT NULL,
    provider_status INTEGER,
    latency_ms      BIGINT NOT NULL
);

CREATE INDEX attempts_request ON attempts (request_id, at);

-- Our last record of what the provider said about a veteran's ITF of a type:
-- shown "as of" when the provider cannot be reached.
CREATE TABLE provider_records (
    icn             TEXT NOT NULL,
    itf_type        TEXT NOT NULL,
    provider_itf_id TEXT,
    creation_date   TEXT,
    expiration_date TEXT,
    active_seen_at  TIMESTAMPTZ,
    none_seen_at    TIMESTAMPTZ,
    PRIMARY KEY (icn, itf_type)
);
