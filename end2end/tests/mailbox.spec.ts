import { expect, test } from '@playwright/test';
import {
  expectNoSeriousAccessibilityViolations,
  freshVeteran,
  panel,
  providerMode,
  resetControls,
  signIn,
  todayInEasternTime,
} from './helpers';

test.afterEach(async ({ request }) => resetControls(request));

test('the development mailbox shows the confirmation as the veteran would read it', async ({ page, request }) => {
  // Pending while the provider is down: the request, and its id, stay open.
  await providerMode(request, 'down');
  await signIn(page, freshVeteran());
  await page.goto('/');
  await expect(panel(page)).toHaveAttribute('data-itf-state', 'pending');
  const list = await page.request.get('/v0/intent_to_file');
  const requestId: string = (await list.json()).data.attributes.intent_to_file[0].request_id;
  expect(requestId).toBeTruthy();
  await providerMode(request, 'up');

  const message = page.locator('article', { hasText: requestId });
  await expect(async () => {
    await page.goto('/dev/mailbox');
    await expect(message).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await expect(message.getByRole('heading', { level: 2 })).toHaveText(
    'Your intent to file for disability compensation is confirmed',
  );
  await expect(message).toContainText('Hello Load,');
  await expect(message).toContainText(`Your intent to file date is ${todayInEasternTime()}.`);
  await expect(message).toContainText('800-827-1000');
  await expectNoSeriousAccessibilityViolations(page);
});
