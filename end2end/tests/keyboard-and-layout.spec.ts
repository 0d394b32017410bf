import { expect, test } from '@playwright/test';
import { openInState, resetControls } from './helpers';

test.afterEach(async ({ request }) => resetControls(request));

test('the keyboard alone reaches "Start your application"', async ({ page, request }) => {
  await openInState(page, request, 'pending');
  await page.locator('body').focus();
  let reached = false;
  for (let press = 0; press < 30 && !reached; press++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.textContent?.trim() === 'Start your application');
  }
  expect(reached).toBe(true);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('application-start')).toBeVisible();
});

// 200% zoom of a 1280 px window lays out as 640 px; 320 px is the narrowest
// phone the VA supports.
for (const width of [640, 320]) {
  test(`no horizontal scrolling at ${width} px`, async ({ page, request }) => {
    await page.setViewportSize({ width, height: 800 });
    for (const state of ['pending', 'needs_attention'] as const) {
      await openInState(page, request, state);
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect(overflow, `${state} at ${width} px`).toBeLessThanOrEqual(0);
      await resetControls(request);
    }
  });
}
