-- Which path each ITF type's requests take: 'off' (synchronous, as
-- before), 'percent' (asynchronous for that share of veterans) or 'on'.
-- Pension and survivor stay synchronous: the database refuses otherwise.
CREATE TABLE rollout_flags (
    itf_type   TEXT PRIMARY KEY CHECK (itf_type IN ('compensation', 'pension', 'survivor')),
    mode       TEXT NOT NULL CHECK (mode IN ('off', 'percent', 'on')),
    percent    INTEGER CHECK (percent BETWEEN 0 AND 100),
    changed_at TIMESTAMPTZ,
    changed_by TEXT,
    CHECK ((mode = 'percent') = (percent IS NOT NULL)),
    CHECK (itf_type = 'compensation' OR mode = 'off')
);

INSERT INTO rollout_flags (itf_type, mode) VALUES
    ('compensation', 'on'),
    ('pension', 'off'),
    ('survivor', 'off');
