import { defineConfig } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appSettings, OIDC_PORT, SECOND_APP_PORT, VA_GOV_PORT } from './tests/app';

// The suite starts the built server itself (scripts/test.sh builds it and
// says where), on its own port and a fresh SQLite database, with the
// provider simulator inside it; and a real OpenID provider beside it
// (oidc/provider.mjs) that veterans and operators sign in at; and a
// stand-in of VA.gov's front end on another origin (vets-website/server.mjs).
const port = Number(process.env.ITF_E2E_PORT ?? 3917);
const baseURL = `http://127.0.0.1:${port}`;
// Made once, by the runner: test workers load this file again, and find
// these in the environment they inherit from it.
process.env.ITF_E2E_DATA_DIR ??= mkdtempSync(join(tmpdir(), 'itf-e2e-'));
const dataDir = process.env.ITF_E2E_DATA_DIR;
// Each run registers its clients with fresh secrets, kept in files as the
// app reads them.
process.env.ITF_E2E_VETERAN_SECRET ??= randomBytes(24).toString('hex');
process.env.ITF_E2E_OPERATOR_SECRET ??= randomBytes(24).toString('hex');
const secrets = { veteran: process.env.ITF_E2E_VETERAN_SECRET, operator: process.env.ITF_E2E_OPERATOR_SECRET };
writeFileSync(join(dataDir, 'veteran-client-secret'), secrets.veteran);
writeFileSync(join(dataDir, 'operator-client-secret'), secrets.operator);

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
    { name: 'e2e', testIgnore: /(gallery|page-bench)\.spec\.ts/ },
    { name: 'gallery', testMatch: /gallery\.spec\.ts/, timeout: 180_000 },
    { name: 'page', testMatch: /page-bench\.spec\.ts/, timeout: 300_000 },
  ],
  webServer: [
    {
      command: 'node oidc/provider.mjs',
      url: `http://127.0.0.1:${OIDC_PORT}/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'pipe',
      stderr: 'pipe',
      env: {
        ITF_E2E_OIDC_PORT: String(OIDC_PORT),
        ITF_E2E_APP_PORTS: `${port},${SECOND_APP_PORT}`,
        ITF_E2E_VETERAN_SECRET: secrets.veteran,
        ITF_E2E_OPERATOR_SECRET: secrets.operator,
      },
    },
    {
      command: 'node vets-website/server.mjs',
      url: `http://127.0.0.1:${VA_GOV_PORT}/`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'pipe',
      stderr: 'pipe',
      env: { ITF_E2E_VA_GOV_PORT: String(VA_GOV_PORT), ITF_E2E_API: baseURL },
    },
    {
      command: process.env.ITF_BIN ?? '../target/debug/itf-async',
      url: `${baseURL}/readyz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe',
      stderr: 'pipe',
      env: appSettings(port, dataDir),
    },
  ],
});
