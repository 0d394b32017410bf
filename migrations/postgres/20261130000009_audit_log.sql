-- What operators did and what personal data they looked at: who, when,
-- what, why, and the request before and after. Append-only in the database
-- itself, so that a raw UPDATE, DELETE or TRUNCATE fails.
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
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

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- The console and the remediation report list requests by state and date.
CREATE INDEX itf_requests_state_received ON itf_requests (state, received_at);
