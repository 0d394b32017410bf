-- Events for other VA services (the 526 submission): a request's ITF was
-- confirmed, needs attention, or was dated later than we received it.
-- Written in the same transaction as the change, at most one per request
-- and type; the id is the `webhook-id` of every delivery of it.
CREATE TABLE webhook_events (
    id            TEXT PRIMARY KEY,
    event_type    TEXT NOT NULL
        CHECK (event_type IN ('itf.confirmed', 'itf.needs_attention', 'itf.date_drift')),
    request_id    TEXT NOT NULL REFERENCES itf_requests (id),
    created_at    TEXT NOT NULL,
    -- Set when deliveries to the endpoints configured then were written.
    fanned_out_at TEXT,
    UNIQUE (request_id, event_type)
);

CREATE INDEX webhook_events_new ON webhook_events (created_at) WHERE fanned_out_at IS NULL;

-- One delivery of an event to one endpoint, retried on its own: a claim
-- moves it on by the worker's lease, so a delivery cut short is made again
-- under the same event id.
CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY,
    event_id    TEXT NOT NULL REFERENCES webhook_events (id),
    endpoint    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    claim_token TEXT,
    run_at      TEXT NOT NULL,
    last_error  TEXT,
    sent_at     TEXT,
    UNIQUE (event_id, endpoint)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (run_at) WHERE state = 'pending';
-- What operators look at: deliveries that failed at least once.
CREATE INDEX webhook_deliveries_trouble ON webhook_deliveries (run_at)
    WHERE state <> 'sent' AND last_error IS NOT NULL;
