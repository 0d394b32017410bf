import { expect, test } from '@playwright/test';
import {
  STATES,
  expectNoClaimOfAnUnconfirmedItf,
  expectNoSeriousAccessibilityViolations,
  freshVeteran,
  openInState,
  panel,
  providerMode,
  resetControls,
  signIn,
} from './helpers';

test.afterEach(async ({ request }) => resetControls(request));

const CONFIRMED_BY_THE_PROVIDER = new Set(['active', 'confirmed']);
const WAITING_OR_FAILED = new Set(['pending', 'delayed', 'unavailable']);

for (const state of STATES) {
  test(`the start page in the ${state} state`, async ({ page, request }) => {
    await openInState(page, request, state);

    const start = page.getByRole('link', { name: 'Start your application' });
    await expect(start).toBeVisible();
    await expect(start).toHaveAttribute('href', '/application');
    await expect(start).not.toHaveAttribute('aria-disabled', 'true');

    if (!CONFIRMED_BY_THE_PROVIDER.has(state)) {
      await expectNoClaimOfAnUnconfirmedItf(page);
    }
    if (WAITING_OR_FAILED.has(state)) {
      await expect(panel(page).locator('va-alert[status="success"]')).toHaveCount(0);
    }
    await expectNoSeriousAccessibilityViolations(page);

    await start.click();
    await expect(page.getByTestId('application-start')).toBeVisible();
  });
}

test('the wording rule holds on the other pages too', async ({ page }) => {
  for (const path of ['/sign-in', '/review', '/application']) {
    await page.goto(path);
    await expectNoClaimOfAnUnconfirmedItf(page);
    await expectNoSeriousAccessibilityViolations(page);
  }
});

// The wording rule in every provider mode: whatever the provider does, a
// veteran without an ITF is never told one was created before it was.
for (const mode of ['up', 'down', 'maintenance', 'slow', 'flaky', 'throttled']) {
  test(`the wording rule holds with the provider ${mode}`, async ({ page, request }) => {
    await providerMode(request, mode);
    await signIn(page, freshVeteran());
    await page.goto('/');
    const state = await panel(page).getAttribute('data-itf-state');
    expect(['pending', 'delayed', 'confirmed', 'active']).toContain(state);
    if (state !== 'confirmed' && state !== 'active') {
      await expectNoClaimOfAnUnconfirmedItf(page);
      await expect(panel(page).locator('va-alert[status="success"]')).toHaveCount(0);
    }
    await expect(page.getByRole('link', { name: 'Start your application' })).toBeVisible();
  });
}
