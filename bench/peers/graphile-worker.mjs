// graphile-worker draining one `ensure_itf` job per veteran; run by
// bench/drain.
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import { ensureItf, settings, timeDrain } from './common.mjs';

const connectionString = settings.databaseUrl;
// Errors only: a log line per job would be work the others do not do.
const logger = new Logger(() => (level, message) => {
  if (level === 'error') console.error(message);
});

const utils = await makeWorkerUtils({ connectionString, logger });
await utils.migrate();
await utils.addJobs(
  settings.icns.map((icn) => ({ identifier: 'ensure_itf', payload: { icn }, maxAttempts: 25 })),
);
await utils.release();

await timeDrain(
  'graphile_worker',
  async () => {
    const runner = await run({
      connectionString,
      concurrency: settings.concurrency,
      maxPoolSize: settings.concurrency + 2,
      noHandleSignals: true,
      logger,
      taskList: { ensure_itf: async ({ icn }) => ensureItf(icn) },
    });
    return () => runner.stop();
  },
  'SELECT count(*) FROM graphile_worker.jobs',
);
