import { expect, test } from '@playwright/test';
import { freshVeteran, panel, providerMode, resetControls } from './helpers';

test.use({ javaScriptEnabled: false });
test.afterEach(async ({ request }) => resetControls(request));

test('without JavaScript the page shows the state, checks again, and leads on', async ({ page, request }) => {
  await providerMode(request, 'down');
  await page.goto('/sign-in');
  await page.getByLabel(/load-test veteran/).fill(freshVeteran());
  await page.getByRole('button', { name: 'Sign in as this veteran' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(panel(page)).toHaveAttribute('data-itf-state', 'pending');
  await expect(panel(page)).toContainText('We received your request on');

  await providerMode(request, 'up');
  // Without WebAssembly "Check again" is a link that reloads the page; the
  // worker needs a moment to reach the provider.
  await expect(async () => {
    await page.getByRole('link', { name: 'Check again' }).click();
    await expect(panel(page)).toHaveAttribute('data-itf-state', 'confirmed', { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });

  await page.getByRole('link', { name: 'Start your application' }).click();
  await expect(page.getByTestId('application-start')).toBeVisible();
});
