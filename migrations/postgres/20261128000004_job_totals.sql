-- Jobs that are done, counted as they finish, so that /metrics reads one
-- row instead of counting a table that only grows. The open states
-- (queued, running, stopped) stay few and are counted through their
-- partial indexes.
CREATE TABLE job_totals (
    state TEXT PRIMARY KEY CHECK (state IN ('done')),
    jobs  BIGINT NOT NULL
);

INSERT INTO job_totals (state, jobs) SELECT 'done', COUNT(*) FROM jobs WHERE state = 'done';

CREATE INDEX jobs_stopped ON jobs (received_at) WHERE state = 'stopped';
