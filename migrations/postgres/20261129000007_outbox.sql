-- What we owe someone outside: a message to a veteran (later alerts and
-- webhook events too), written in the same transaction as the change that
-- causes it and delivered by the worker, at least once. The reference
-- (request id and kind) is the key: at most one per request and kind, and
-- every delivery of it carries the same reference.
CREATE TABLE outbox (
    reference   TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    request_id  TEXT NOT NULL REFERENCES itf_requests (id),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    -- When it is next due: a claim moves it on by the claim's lease, so a
    -- delivery cut short is tried again.
    -- Set by the claim that is delivering it.
    claim_token TEXT,
    run_at      TIMESTAMPTZ NOT NULL,
    last_error  TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    sent_at     TIMESTAMPTZ,
    -- The channel's later word on it (VA Notify's delivery-status
    -- callback: delivered, permanent-failure, temporary-failure, or
    -- whatever else it sent), and when it came.
    delivery_status    TEXT,
    delivery_status_at TIMESTAMPTZ
);

CREATE INDEX outbox_due ON outbox (run_at) WHERE state = 'pending';

-- The development mailbox: messages as the veteran would read them, where
-- no email is sent.
CREATE TABLE dev_mailbox (
    reference    TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    delivered_at TIMESTAMPTZ NOT NULL
);
