import { expect, test } from '@playwright/test';
import { panel, providerMode, resetControls, todayInEasternTime } from './helpers';

test.afterEach(async ({ request }) => resetControls(request));

test('with the provider down, a veteran without an ITF sees it pending, then confirmed without a reload', async ({
  page,
  request,
}) => {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });

  await providerMode(request, 'down');
  await page.goto('/');
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.getByRole('button', { name: /Hector Allen/ }).click();

  // Acceptance: pending, with today's date in Eastern Time, within the
  // look-up budget (1.5 s) and a second.
  const asked = Date.now();
  await expect(page).toHaveURL(/\/$/);
  await expect(panel(page)).toHaveAttribute('data-itf-state', 'pending');
  expect(Date.now() - asked).toBeLessThan(2_500);
  await expect(panel(page)).toContainText(`We received your request on ${todayInEasternTime()}`);
  await expect(page.getByTestId('veteran-name')).toHaveText('Hector Allen');

  // The server-rendered page is live once hydration has run; "Check again"
  // then calls the status server function instead of reloading.
  await expect(page.locator('main')).toHaveAttribute('data-hydrated', 'true');
  await page.evaluate(() => ((window as any).sameDocument = true));
  const answered = page.waitForResponse(
    (response) => response.url().endsWith('/api/itf-status') && response.request().method() === 'POST',
  );
  await page.getByRole('link', { name: 'Check again' }).click();
  const response = await answered;
  expect(response.status()).toBe(200);
  expect((await response.json()).state).toBe('pending');

  // The announcement region is polite, and the page turns to confirmed by
  // itself once the provider is back (retry cap 2 s here, plus 10 s).
  await expect(panel(page)).toHaveAttribute('aria-live', 'polite');
  await providerMode(request, 'up');
  await expect(panel(page)).toHaveAttribute('data-itf-state', 'confirmed', { timeout: 12_000 });
  await expect(panel(page)).toContainText('Your Intent to File is confirmed');
  expect(await page.evaluate(() => (window as any).sameDocument)).toBe(true);

  await page.getByRole('link', { name: 'Start your application' }).click();
  await expect(page.getByTestId('application-start')).toBeVisible();
  expect(problems).toEqual([]);
});

test('signing out ends the session', async ({ page }) => {
  await page.goto('/sign-in');
  await page.getByRole('button', { name: /Wanda Brooks/ }).click();
  await expect(page.getByTestId('veteran-name')).toHaveText('Wanda Brooks');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/sign-in$/);
});
