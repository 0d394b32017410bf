-- When a session was last used: one unused for longer than the idle
-- timeout has ended, whatever its absolute lifetime says.
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMPTZ;
ALTER TABLE operator_sessions ADD COLUMN last_seen_at TIMESTAMPTZ;
