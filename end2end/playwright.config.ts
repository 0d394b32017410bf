import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The suite starts the built server itself (scripts/test.sh builds it and
// says where), on its own port and a fresh SQLite database, with the
// provider simulator inside it.
const port = Number(process.env.ITF_E2E_PORT ?? 3917);
const baseURL = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), 'itf-e2e-'));

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  // The tests share one simulator, whose mode is global: one at a time.
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
      ],
    },
  },
  projects: [
    { name: 'e2e', testIgnore: /gallery\.spec\.ts/ },
    { name: 'gallery', testMatch: /gallery\.spec\.ts/, timeout: 180_000 },
  ],
  webServer: {
    command: process.env.ITF_BIN ?? '../target/debug/itf-async',
    url: `${baseURL}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      DATABASE_URL: `sqlite://${dataDir}/itf-async.db`,
      ITF_DATA_DIR: dataDir,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: process.env.ITF_SITE_ROOT ?? '../target/site',
      // Short retries, so that a provider coming back is seen in seconds;
      // a 429's Retry-After, which holds every worker, held as short, so
      // that the test after a throttled one is not held back by it.
      ITF_RETRY_MAX_DELAY: '2',
      LIGHTHOUSE_RETRY_AFTER_MAX: '2',
      // The pages are tested state by state with the provider switched
      // between modes; the circuit and the provider budget, tested on their
      // own, stay out of the way.
      ITF_CIRCUIT_FAILURES: '1000000',
      LIGHTHOUSE_QUOTA_PER_MINUTE: '60000',
      RUST_LOG: 'warn',
    },
  },
});
