-- The provider's circuit, shared by every instance: after repeated
-- transient failures it opens, look-ups stop asking the provider and the
-- worker defers its jobs; after a cool-down one caller probes.
CREATE TABLE provider_circuit (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    state      TEXT NOT NULL CHECK (state IN ('closed', 'open', 'probing')),
    -- Transient failures in a row, across instances.
    failures   INTEGER NOT NULL,
    -- Whether the last answer noted changed the state: what the update
    -- that notes an answer returns.
    last_answer_changed_state BOOLEAN NOT NULL DEFAULT FALSE,
    changed_at TEXT NOT NULL
);

INSERT INTO provider_circuit (id, state, failures, changed_at) VALUES (1, 'closed', 0, strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'));
