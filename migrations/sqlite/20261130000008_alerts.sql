-- Developer alerts: one row per condition and what it is about (its
-- dedup_key, stable across trigger and resolve), open or resolved. Opening
-- and resolving write the alert's deliveries to the outbox in the same
-- transaction.
CREATE TABLE alerts (
    dedup_key  TEXT PRIMARY KEY,
    condition  TEXT NOT NULL,
    request_id TEXT REFERENCES itf_requests (id),
    state      TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
    -- How many times it opened: each opening is delivered afresh.
    episode    INTEGER NOT NULL,
    changed_at TEXT NOT NULL
);

-- The outbox carries alerts too: an alert is about a request only for some
-- conditions. An alert is written once (alert_channel empty) and fanned
-- out, when delivered, to one row per channel configured, so that each
-- channel is retried on its own. SQLite cannot drop a NOT NULL, so the
-- table is made again.
CREATE TABLE outbox_with_alerts (
    reference   TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    request_id  TEXT REFERENCES itf_requests (id),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    claim_token TEXT,
    run_at      TEXT NOT NULL,
    last_error  TEXT,
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    delivery_status    TEXT,
    delivery_status_at TEXT,
    alert_key     TEXT REFERENCES alerts (dedup_key),
    alert_action  TEXT CHECK (alert_action IN ('trigger', 'resolve')),
    alert_channel TEXT,
    summary       TEXT
);

INSERT INTO outbox_with_alerts (reference, kind, request_id, state, attempts, claim_token,
    run_at, last_error, created_at, sent_at, delivery_status, delivery_status_at)
SELECT reference, kind, request_id, state, attempts, claim_token,
    run_at, last_error, created_at, sent_at, delivery_status, delivery_status_at
FROM outbox;

DROP TABLE outbox;
ALTER TABLE outbox_with_alerts RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (run_at) WHERE state = 'pending';

-- Since when the circuit has been open (probes included), so that an
-- outage lasting too long is alerted.
ALTER TABLE provider_circuit ADD COLUMN opened_at TEXT;

-- Alerts as development lists them, where none goes to Slack or PagerDuty.
CREATE TABLE dev_alerts (
    reference    TEXT PRIMARY KEY,
    dedup_key    TEXT NOT NULL,
    condition    TEXT NOT NULL,
    action       TEXT NOT NULL,
    request_id   TEXT,
    summary      TEXT NOT NULL,
    delivered_at TEXT NOT NULL
);
