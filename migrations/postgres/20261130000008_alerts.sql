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
    changed_at TIMESTAMPTZ NOT NULL
);

-- The outbox carries alerts too: an alert is about a request only for some
-- conditions. An alert is written once (alert_channel empty) and fanned
-- out, when delivered, to one row per channel configured, so that each
-- channel is retried on its own.
ALTER TABLE outbox ALTER COLUMN request_id DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN alert_key TEXT REFERENCES alerts (dedup_key);
ALTER TABLE outbox ADD COLUMN alert_action TEXT CHECK (alert_action IN ('trigger', 'resolve'));
ALTER TABLE outbox ADD COLUMN alert_channel TEXT;
ALTER TABLE outbox ADD COLUMN summary TEXT;

-- Since when the circuit has been open (probes included), so that an
-- outage lasting too long is alerted.
ALTER TABLE provider_circuit ADD COLUMN opened_at TIMESTAMPTZ;

-- Alerts as development lists them, where none goes to Slack or PagerDuty.
CREATE TABLE dev_alerts (
    reference    TEXT PRIMARY KEY,
    dedup_key    TEXT NOT NULL,
    condition    TEXT NOT NULL,
    action       TEXT NOT NULL,
    request_id   TEXT,
    summary      TEXT NOT NULL,
    delivered_at TIMESTAMPTZ NOT NULL
);
