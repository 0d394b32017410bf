import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Page, expect, test } from '@playwright/test';
import { appSettings, OIDC_PORT, SECOND_APP_PORT } from './app';
import { expectNoSeriousAccessibilityViolations, panel } from './helpers';

const PROVIDER = `http://127.0.0.1:${OIDC_PORT}`;

/** On the provider's own login page: any password is taken. */
async function signInAtProvider(page: Page, account: string) {
  await expect(page).toHaveURL(new RegExp(`^${PROVIDER}/`));
  await page.locator('input[name="login"]').fill(account);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
}

async function sessionCookie(page: Page, name: string): Promise<string | undefined> {
  return (await page.context().cookies()).find((cookie) => cookie.name === name)?.value;
}

test('a veteran signs in at the provider, sees the start page for their ICN, and a replayed callback is refused', async ({
  page,
}) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.locator('[data-sign-in="provider"]').click();
  const callback = page.waitForRequest(/\/sign-in\/callback\?/);
  await signInAtProvider(page, 'veteran-wanda');
  const callbackUrl = (await callback).url();

  await expect(page).toHaveURL(/:\d+\/$/);
  await expect(page.getByTestId('veteran-name')).toHaveText('Wanda');
  // The simulator holds an active ITF for this account's ICN, and only
  // for it.
  await expect(panel(page)).toHaveAttribute('data-itf-state', 'active');

  const replayed = await page.goto(callbackUrl);
  expect(replayed?.status()).toBe(400);
  await expect(page.getByRole('heading', { name: 'This sign-in has ended' })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('Sign in again');
});

test('signing out ends our session and the provider’s', async ({ page }) => {
  await page.goto('/sign-in');
  await page.locator('[data-sign-in="provider"]').click();
  await signInAtProvider(page, 'veteran-wanda');
  await expect(page.getByTestId('veteran-name')).toHaveText('Wanda');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(new RegExp(`^${PROVIDER}/session/end`));
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  expect(await sessionCookie(page, 'itf_session')).toBeUndefined();

  await page.goto('/');
  await expect(page).toHaveURL(/\/sign-in$/);
  // The provider asks who is signing in again: its session ended too.
  await page.locator('[data-sign-in="provider"]').click();
  await expect(page.locator('input[name="login"]')).toBeVisible();
});

test('an account without an ICN is refused with a page that says why and what to do', async ({ page }) => {
  await page.goto('/sign-in');
  await page.locator('[data-sign-in="provider"]').click();
  const refusal = page.waitForResponse(/\/sign-in\/callback\?/);
  await signInAtProvider(page, 'veteran-no-icn');
  expect((await refusal).status()).toBe(403);

  await expect(page.getByRole('heading', { name: "We can't find your VA records from this account" })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('800-698-2411');
  await expectNoSeriousAccessibilityViolations(page);
  expect(await sessionCookie(page, 'itf_session')).toBeUndefined();
  await page.getByRole('link', { name: 'Go back to sign in' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
});

test('an operator signs in at the provider and reaches the console in the role their group gives', async ({ page }) => {
  await page.goto('/console');
  await expect(page).toHaveURL(/\/console\/sign-in$/);
  await page.locator('[data-sign-in="provider"]').click();
  await signInAtProvider(page, 'operator-ana');

  await expect(page).toHaveURL(/\/console$/);
  await expect(page.getByTestId('operator')).toHaveText('ana@va.gov');
  await expect(page.locator('.console-nav')).toContainText('(operator)');
});

test('a person whose groups give no console role is refused', async ({ page }) => {
  await page.goto('/console/sign-in');
  await page.locator('[data-sign-in="provider"]').click();
  const refusal = page.waitForResponse(/\/console\/sign-in\/callback\?/);
  await signInAtProvider(page, 'staff-bo');
  expect((await refusal).status()).toBe(403);

  await expect(page.getByRole('heading', { name: "You don't have a role in the console" })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('bo@va.gov');
  await page.goto('/console');
  await expect(page).toHaveURL(/\/console\/sign-in$/);
});

test('a session cookie from before a sign-in does not survive it', async ({ page, request }) => {
  await page.goto('/sign-in');
  await page.locator('[data-sign-in="provider"]').click();
  await signInAtProvider(page, 'veteran-wanda');
  await expect(page.getByTestId('veteran-name')).toHaveText('Wanda');
  const before = await sessionCookie(page, 'itf_session');

  // Signed in at the provider still, the browser comes straight back.
  await page.goto('/sign-in');
  await page.locator('[data-sign-in="provider"]').click();
  await expect(page.getByTestId('veteran-name')).toHaveText('Wanda');
  const after = await sessionCookie(page, 'itf_session');
  expect(after).toBeTruthy();
  expect(after).not.toBe(before);

  const withOldCookie = await request.get('/', { headers: { cookie: `itf_session=${before}` }, maxRedirects: 0 });
  expect(withOldCookie.status()).toBe(303);
  expect(withOldCookie.headers().location).toBe('/sign-in');
});

test.describe('with a one-minute idle timeout', () => {
  const second = `http://127.0.0.1:${SECOND_APP_PORT}`;
  let app: ChildProcess;

  test.beforeAll(async () => {
    const shared = process.env.ITF_E2E_DATA_DIR ?? '';
    app = spawn(process.env.ITF_BIN ?? '../target/debug/itf-async', [], {
      env: {
        ...process.env,
        ...appSettings(SECOND_APP_PORT, mkdtempSync(join(tmpdir(), 'itf-e2e-idle-')), {
          ITF_SESSION_IDLE_MINUTES: '1',
          ITF_VETERAN_OIDC_CLIENT_SECRET_FILE: join(shared, 'veteran-client-secret'),
          ITF_OPERATOR_OIDC_CLIENT_SECRET_FILE: join(shared, 'operator-client-secret'),
        }),
      },
      stdio: 'inherit',
    });
    await expect
      .poll(async () => (await fetch(`${second}/readyz`).catch(() => undefined))?.status, { timeout: 30_000 })
      .toBe(200);
  });

  test.afterAll(() => {
    app?.kill();
  });

  test('a session idle past the timeout is refused and the veteran is sent to sign in again', async ({ page }) => {
    test.setTimeout(150_000);
    await page.goto(`${second}/sign-in`);
    await page.locator('[data-sign-in="provider"]').click();
    await signInAtProvider(page, 'veteran-wanda');
    await expect(page.getByTestId('veteran-name')).toHaveText('Wanda');

    // Nothing of ours open meanwhile: no page polls for the session.
    await page.goto('about:blank');
    await page.waitForTimeout(62_000);
    const refused = await page.request.get(`${second}/v0/intent_to_file`);
    expect(refused.status()).toBe(401);
    await page.goto(`${second}/`);
    await expect(page).toHaveURL(`${second}/sign-in`);
  });
});
