-- What operators did and what personal data they looked at: who, when,
-- what, why, and the request before and after. Append-only in the database
-- itself, so that a raw UPDATE or DELETE fails.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    operator    TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    action      TEXT NOT NULL,
    request_id  TEXT REFERENCES itf_requests (id),
    reason      TEXT,
    -- The request's state, ITF id and dates, as JSON: never its ICN or name.
    before      TEXT,
    after       TEXT
);

CREATE INDEX audit_log_request ON audit_log (request_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- The console and the remediation report list requests by state and date.
CREATE INDEX itf_requests_state_received ON itf_requests (state, received_at);
