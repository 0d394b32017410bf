// pg-boss draining one `ensure_itf` job per veteran; run by bench/drain.
import PgBoss from 'pg-boss';
import { ensureItf, settings, timeDrain } from './common.mjs';

// pg-boss 10 waits its polling interval (at least half a second) after
// every fetch, so a worker fetches a batch and works it `concurrency` at
// a time; one worker per `concurrency` jobs would fetch one job per half
// second each.
const BATCH = settings.concurrency * Number(process.env.DRAIN_PG_BOSS_BATCHES ?? 16);

const boss = new PgBoss({
  connectionString: settings.databaseUrl,
  max: settings.concurrency + 2,
  supervise: false,
  schedule: false,
});
boss.on('error', (error) => console.error(error.message));
await boss.start();
await boss.createQueue('ensure_itf');
await boss.insert(settings.icns.map((icn) => ({ name: 'ensure_itf', data: { icn } })));

async function workAll(jobs) {
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      await ensureItf(job.data.icn);
    }
  };
  await Promise.all(Array.from({ length: settings.concurrency }, lane));
}

await timeDrain(
  'pg_boss',
  async () => {
    await boss.work('ensure_itf', { batchSize: BATCH, pollingIntervalSeconds: 0.5 }, workAll);
    return () => boss.stop({ graceful: true, wait: true, timeout: 5000 });
  },
  "SELECT count(*) FROM pgboss.job WHERE name = 'ensure_itf' AND state <> 'completed'",
);
