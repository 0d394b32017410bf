-- Done jobs are counted in 32 rows instead of one, as on PostgreSQL, where
-- workers' transactions waited on each other's commits to add to one row.
-- Readers add the rows up.
CREATE TABLE job_totals_shards (
    state TEXT NOT NULL CHECK (state IN ('done')),
    shard INTEGER NOT NULL CHECK (shard BETWEEN 0 AND 31),
    jobs  BIGINT NOT NULL,
    PRIMARY KEY (state, shard)
);
INSERT INTO job_totals_shards (state, shard, jobs) SELECT state, 0, jobs FROM job_totals;
WITH RECURSIVE shards(shard) AS (SELECT 1 UNION ALL SELECT shard + 1 FROM shards WHERE shard < 31)
INSERT INTO job_totals_shards (state, shard, jobs) SELECT 'done', shard, 0 FROM shards;
DROP TABLE job_totals;
ALTER TABLE job_totals_shards RENAME TO job_totals;
