import { join } from 'node:path';

/** Where the tests' OpenID provider (oidc/provider.mjs) listens. */
export const OIDC_PORT = Number(process.env.ITF_E2E_OIDC_PORT ?? 3918);
/** A second app the session tests start with settings of their own. */
export const SECOND_APP_PORT = OIDC_PORT + 1;
/** Where the stand-in of VA.gov's front end (vets-website/server.mjs) listens. */
export const VA_GOV_PORT = OIDC_PORT + 2;

/**
 * The settings the suite runs the app with, on `port` with its database
 * and keys in `dataDir`; `more` adds to them or overrides them.
 */
export function appSettings(port: number, dataDir: string, more: Record<string, string> = {}): Record<string, string> {
  const issuer = `http://127.0.0.1:${OIDC_PORT}`;
  return {
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
    // Sign-in at the tests' OpenID provider, beside development's mock
    // sign-in.
    ITF_PUBLIC_URL: `http://127.0.0.1:${port}`,
    ITF_VETERAN_OIDC_ISSUER: issuer,
    ITF_VETERAN_OIDC_CLIENT_ID: 'itf-veterans',
    ITF_VETERAN_OIDC_CLIENT_SECRET_FILE: join(dataDir, 'veteran-client-secret'),
    ITF_VETERAN_OIDC_SCOPES: 'openid profile icn',
    ITF_OPERATOR_OIDC_ISSUER: issuer,
    ITF_OPERATOR_OIDC_CLIENT_ID: 'itf-console',
    ITF_OPERATOR_OIDC_CLIENT_SECRET_FILE: join(dataDir, 'operator-client-secret'),
    ITF_OPERATOR_OIDC_SCOPES: 'openid email groups',
    ITF_OPERATOR_ROLES: 'itf-viewers=viewer,itf-operators=operator,itf-admins=admin',
    // VA.gov's front end calls from another origin of the same site.
    ITF_ALLOWED_ORIGINS: `http://127.0.0.1:${VA_GOV_PORT}`,
    ...more,
  };
}
