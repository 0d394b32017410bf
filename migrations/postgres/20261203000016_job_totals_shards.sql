-- Done jobs are counted in 32 rows instead of one: with every finishing
-- job adding to the same row, workers' transactions waited on each other's
-- commits. Readers add the rows up.
ALTER TABLE job_totals DROP CONSTRAINT job_totals_pkey;
ALTER TABLE job_totals ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0
    CHECK (shard BETWEEN 0 AND 31);
ALTER TABLE job_totals ADD PRIMARY KEY (state, shard);
INSERT INTO job_totals (state, shard, jobs) SELECT 'done', shard, 0 FROM generate_series(1, 31) AS shard;
