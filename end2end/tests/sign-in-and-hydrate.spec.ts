import { expect, test } from '@playwright/test';

test('a veteran signs in, the start page hydrates, and its server function answers', async ({ page }) => {
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });

  await page.goto('/');
  await expect(page).toHaveURL(/\/sign-in$/);

  await page.getByRole('button', { name: /Hector Allen/ }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('veteran-name')).toHaveText('Hector Allen');

  // The server-rendered page is live once hydration has run.
  await expect(page.locator('main')).toHaveAttribute('data-hydrated', 'true');

  const checkedAt = page.locator('[data-checked-at]');
  const before = await checkedAt.getAttribute('data-checked-at');
  expect(before).toBeTruthy();

  const answered = page.waitForResponse(
    (response) => response.url().endsWith('/api/greeting') && response.request().method() === 'POST',
  );
  await page.getByRole('button', { name: 'Check again' }).click();
  const response = await answered;
  expect(response.status()).toBe(200);
  expect((await response.json()).name).toBe('Hector Allen');
  await expect(checkedAt).not.toHaveAttribute('data-checked-at', before!);
  await expect(page.getByTestId('veteran-name')).toHaveText('Hector Allen');

  expect(pageErrors).toEqual([]);
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
