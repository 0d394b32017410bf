import { Page, expect, test } from '@playwright/test';
import { VA_GOV_PORT } from './app';
import { freshVeteran, providerMode, resetControls, signIn } from './helpers';

// VA.gov's front end, from another origin of the same site, against our
// API unchanged: vets-website's ITF logic, ported into
// end2end/vets-website/itf.html, with its camelCase keys, credentials and
// CSRF token.
const VA_GOV = `http://127.0.0.1:${VA_GOV_PORT}/`;

test.afterEach(async ({ request }) => resetControls(request));

/** What VA.gov's 526 form shows `user`: its state and the POSTs it made. */
async function vaGovFor(page: Page, user: string) {
  await signIn(page, user);
  await page.goto(VA_GOV);
  const box = page.locator('#itf');
  await expect(box).not.toHaveAttribute('data-state', 'loading', { timeout: 20_000 });
  await expect(page.getByRole('link', { name: 'Continue your application' })).toBeVisible();
  return {
    state: await box.getAttribute('data-state'),
    posts: Number(await box.getAttribute('data-posts')),
    text: await box.textContent(),
  };
}

test('a veteran with an active ITF sees it, and VA.gov makes no POST', async ({ page }) => {
  const shown = await vaGovFor(page, 'vet-active-itf');
  expect(shown).toEqual({ state: 'existing', posts: 0, text: 'You already have an Intent to File' });
});

test('a pending request leads to the "can\'t confirm" alert, never to "submitted"', async ({ page, request }) => {
  await providerMode(request, 'down');
  const shown = await vaGovFor(page, freshVeteran());
  expect(shown.state).toBe('cant-confirm');
  expect(shown.posts).toBe(1);
  expect(shown.text).toBe("We can't confirm if we have an intent to file on record for you right now");
  await expect(page.getByRole('alert')).toBeVisible();
});

test('every test user can continue', async ({ page }) => {
  const states: Record<string, string | null> = {};
  for (const user of ['vet-no-itf', 'vet-active-itf', 'vet-expired-itf', 'vet-unknown', 'vet-rejected', freshVeteran()]) {
    states[user] = (await vaGovFor(page, user)).state;
  }
  expect(states['vet-active-itf']).toBe('existing');
  for (const [user, state] of Object.entries(states)) {
    expect(['existing', 'submitted', 'cant-confirm'], user).toContain(state);
  }
  // The provider's refusals are never "submitted".
  expect(states['vet-unknown']).toBe('cant-confirm');
  expect(states['vet-rejected']).toBe('cant-confirm');
});
