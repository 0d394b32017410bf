-- The provider budget shared by every instance: one generic cell rate
-- (GCRA) bucket. `tat_ms` is the theoretical arrival time, in milliseconds
-- since the epoch by the database's clock: each call let through moves it
-- on by one interval, and a call is let through only while it is no
-- further ahead of now than the caller's tolerance.
CREATE TABLE provider_budget (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    tat_ms INTEGER NOT NULL,
    -- What the last claim was told: how many milliseconds it is beyond its
    -- tolerance, or NULL when it was let through. What the update that
    -- takes a call returns.
    last_wait_ms INTEGER
);

INSERT INTO provider_budget (id, tat_ms) VALUES (1, 0);
