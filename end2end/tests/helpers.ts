import AxeBuilder from '@axe-core/playwright';
import { APIRequestContext, Page, expect } from '@playwright/test';

export type State = 'active' | 'pending' | 'confirmed' | 'delayed' | 'needs_attention' | 'unavailable';
export const STATES: State[] = ['active', 'pending', 'confirmed', 'delayed', 'needs_attention', 'unavailable'];

/** A load-test veteran no other test has used in this run. */
export function freshVeteran(): string {
  return `load-${10_000 + Math.floor(Math.random() * 89_000)}`;
}

export async function providerMode(request: APIRequestContext, mode: string) {
  const response = await request.put('/_sim/lighthouse/mode', { data: { mode } });
  expect(response.ok()).toBeTruthy();
}

export async function delayAfterMinutes(request: APIRequestContext, minutes: number) {
  const response = await request.post('/review/delay', { form: { minutes: String(minutes) }, maxRedirects: 0 });
  expect(response.status()).toBe(303);
}

export async function databaseOutage(request: APIRequestContext, down: boolean) {
  const response = await request.post('/review/outage', { form: { down: String(down) }, maxRedirects: 0 });
  expect(response.status()).toBe(303);
}

export async function signIn(page: Page, user: string) {
  const response = await page.request.post('/sign-in/mock', { form: { user }, maxRedirects: 0 });
  expect(response.status()).toBe(303);
}

/** Today in Eastern Time, written out as the page writes dates. */
export function todayInEasternTime(): string {
  return new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/New_York',
    year: 'numeric',
    month: 'long',
    day: 'numeric',
  }).format(new Date());
}

export function panel(page: Page) {
  return page.locator('[data-itf-state]');
}

/** Puts the simulator and the review controls back as a run starts. */
export async function resetControls(request: APIRequestContext) {
  await providerMode(request, 'up');
  await delayAfterMinutes(request, 60);
  await databaseOutage(request, false);
}

/**
 * Opens the start page in `state`, set up through the real app and its
 * simulator. The controls stay as the state needs them: reset them after.
 */
export async function openInState(page: Page, request: APIRequestContext, state: State) {
  switch (state) {
    case 'active':
      await providerMode(request, 'up');
      await signIn(page, 'vet-active-itf');
      await page.goto('/');
      break;
    case 'pending':
      await providerMode(request, 'down');
      await signIn(page, freshVeteran());
      await page.goto('/');
      break;
    case 'delayed':
      await providerMode(request, 'down');
      await delayAfterMinutes(request, 0);
      await signIn(page, freshVeteran());
      await page.goto('/');
      break;
    case 'confirmed':
      await providerMode(request, 'down');
      await signIn(page, freshVeteran());
      await page.goto('/');
      await expect(panel(page)).toHaveAttribute('data-itf-state', 'pending');
      await providerMode(request, 'up');
      break;
    case 'needs_attention':
      await providerMode(request, 'up');
      await signIn(page, 'vet-unknown');
      await page.goto('/');
      break;
    case 'unavailable':
      await signIn(page, freshVeteran());
      await databaseOutage(request, true);
      await page.goto('/');
      break;
  }
  await expect(panel(page)).toHaveAttribute('data-itf-state', state, { timeout: 30_000 });
}

/** What the wording rule forbids where the provider has not confirmed an ITF. */
const CLAIMS_OF_AN_ITF = [/\bcreated\b/i, /\bsubmitted\b/i, /\bon file\b/i];

export async function expectNoClaimOfAnUnconfirmedItf(page: Page) {
  const text = await page.locator('body').innerText();
  for (const claim of CLAIMS_OF_AN_ITF) {
    expect(text, `the page says ${claim}`).not.toMatch(claim);
  }
}

export async function expectNoSeriousAccessibilityViolations(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`)).toEqual([]);
}
