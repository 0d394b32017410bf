// What both peers share: the settings bench/drain passes, the provider
// calls of one job (the same token fetch, GET and POST as ITF Async's
// worker), and the watch that times the drain.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import pg from 'pg';

export const settings = {
  databaseUrl: need('DATABASE_URL'),
  providerBase: need('LIGHTHOUSE_BASE_URL'),
  keyFile: need('LIGHTHOUSE_KEY_FILE'),
  clientId: need('LIGHTHOUSE_CLIENT_ID'),
  concurrency: Number(need('DRAIN_CONCURRENCY')),
  icns: JSON.parse(fs.readFileSync(need('DRAIN_ICNS_FILE'), 'utf8')),
};

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set; bench/drain sets it`);
    process.exit(2);
  }
  return value;
}

const TOKEN_PATH = '/oauth2/claims/system/v1/token';
const API_PATH = '/services/claims/v2';
const SCOPE = 'system/claim.read system/claim.write';

// One keep-alive connection per job worked at once, as a pooled client has.
const agent = new http.Agent({ keepAlive: true, maxSockets: settings.concurrency });
const key = crypto.createPrivateKey(fs.readFileSync(settings.keyFile));
const base = settings.providerBase.replace(/\/$/, '');
let token = null;
let fetching = null;

function send(method, url, headers, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, agent }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    request.on('error', reject);
    request.end(body);
  });
}

function base64url(value) {
  return Buffer.from(value).toString('base64url');
}

// A client-credentials token for an RS256 client assertion, kept until a
// minute before it expires: the token service is shared, so tokens are
// cached, as ITF Async's client caches them.
async function freshToken() {
  const url = `${base}${TOKEN_PATH}`;
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const claims = base64url(
    JSON.stringify({
      iss: settings.clientId,
      sub: settings.clientId,
      aud: url,
      iat: now,
      exp: now + 300,
      jti: crypto.randomUUID(),
    }),
  );
  const signature = crypto.sign('RSA-SHA256', Buffer.from(`${header}.${claims}`), key);
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: `${header}.${claims}.${base64url(signature)}`,
    scope: SCOPE,
  }).toString();
  const answer = await send(
    'POST',
    url,
    { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) },
    form,
  );
  if (answer.status !== 200) throw new Error(`the token service answered ${answer.status}`);
  const body = JSON.parse(answer.body);
  return { value: body.access_token, until: Date.now() + (body.expires_in - 60) * 1000 };
}

async function bearer() {
  if (token && Date.now() < token.until) return token.value;
  fetching ??= freshToken().finally(() => {
    fetching = null;
  });
  token = await fetching;
  return token.value;
}

// One job: the veteran's active compensation ITF, or a new one.
export async function ensureItf(icn) {
  const authorization = `Bearer ${await bearer()}`;
  const found = await send(
    'GET',
    `${base}${API_PATH}/veterans/${icn}/intent-to-file/compensation`,
    { authorization, accept: 'application/json' },
  );
  if (found.status === 200) return;
  if (found.status !== 404) throw new Error(`the look-up answered ${found.status}`);
  const body = JSON.stringify({ data: { type: 'intent_to_file', attributes: { type: 'compensation' } } });
  const created = await send(
    'POST',
    `${base}${API_PATH}/veterans/${icn}/intent-to-file`,
    {
      authorization,
      accept: 'application/json',
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    },
    body,
  );
  if (created.status !== 200) throw new Error(`the creation answered ${created.status}`);
}

// Starts the workers with `start` and waits until `remainingSql` counts no
// job left; prints one JSON line with the time taken from the start and
// the process's peak resident memory.
export async function timeDrain(system, start, remainingSql) {
  const watch = new pg.Client({ connectionString: settings.databaseUrl });
  await watch.connect();
  let peak = process.memoryUsage().rss;
  const started = performance.now();
  const stop = await start();
  const deadline = started + 120_000 + settings.icns.length * 20;
  let remaining = settings.icns.length;
  while (remaining > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    remaining = Number((await watch.query(remainingSql)).rows[0].count);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const seconds = (performance.now() - started) / 1000;
  await stop();
  await watch.end();
  agent.destroy();
  console.log(
    JSON.stringify({
      system,
      jobs: settings.icns.length - remaining,
      seconds,
      peak_rss_mb: peak / 1024 / 1024,
    }),
  );
}
