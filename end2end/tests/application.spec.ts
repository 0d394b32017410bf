import { expect, test } from '@playwright/test';
import {
  expectNoSeriousAccessibilityViolations,
  freshVeteran,
  panel,
  providerMode,
  resetControls,
  signIn,
} from './helpers';

test.afterEach(async ({ request }) => resetControls(request));

test('the application page shows what a submission would carry: pending since the day received, then the ITF’s dates', async ({
  page,
  request,
}) => {
  await providerMode(request, 'down');
  await signIn(page, freshVeteran());
  await page.goto('/');
  await expect(panel(page)).toHaveAttribute('data-itf-state', 'pending');
  const received = (await panel(page).textContent())?.match(/We received your request on ([A-Z][a-z]+ \d+, \d{4})/)?.[1];
  expect(received).toBeTruthy();

  await page.getByRole('link', { name: 'Start your application' }).click();
  const carried = page.getByTestId('submission-itf');
  await expect(carried).toHaveAttribute('data-submission-itf', 'pending');
  await expect(carried).toContainText(`pending since ${received}`);
  await expectNoSeriousAccessibilityViolations(page);

  await providerMode(request, 'up');
  await expect(async () => {
    await page.reload();
    await expect(carried).toHaveAttribute('data-submission-itf', 'active', { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(carried).toContainText(/Intent to File \S+, started on [A-Z][a-z]+ \d+, \d{4} and expiring on [A-Z][a-z]+ \d+, \d{4}/);
});
