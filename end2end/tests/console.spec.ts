import { APIRequestContext, Browser, Page, expect, test } from '@playwright/test';
import {
  expectNoSeriousAccessibilityViolations,
  freshVeteran,
  panel,
  providerMode,
  resetControls,
  signIn,
} from './helpers';

test.afterEach(async ({ request }) => resetControls(request));

async function standing(request: APIRequestContext, user: string, standing: string) {
  const response = await request.put(`/_sim/lighthouse/veterans/${user}/standing`, { data: { standing } });
  expect(response.ok()).toBeTruthy();
}

/** A browser of its own, signed in to the console as a test operator. */
async function operator(browser: Browser, id: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const response = await page.request.post('/console/sign-in/mock', { form: { user: id }, maxRedirects: 0 });
  expect(response.status()).toBe(303);
  return page;
}

test('an operator finds a refused request, retries it once the provider knows the veteran, and it becomes active', async ({
  page,
  request,
  browser,
}) => {
  const veteran = freshVeteran();
  await standing(request, veteran, 'unknown');
  await signIn(page, veteran);
  await page.goto('/');
  await expect(panel(page)).toHaveAttribute('data-itf-state', 'needs_attention', { timeout: 30_000 });
  const list = await page.request.get('/v0/intent_to_file');
  const requestId: string = (await list.json()).data.attributes.intent_to_file[0].request_id;
  expect(requestId).toBeTruthy();

  await page.goto('/console/sign-in');
  await expect(page.getByRole('button', { name: /ops-operator/ })).toBeVisible();
  await expectNoSeriousAccessibilityViolations(page);

  const ops = await operator(browser, 'ops-operator');
  await ops.goto('/console');
  await expect(ops.getByRole('heading', { level: 1 })).toHaveText('Console');
  await expect(ops.getByTestId('operator')).toHaveText('ops-operator');
  await expectNoSeriousAccessibilityViolations(ops);

  await ops.goto('/console/requests?state=needs_attention');
  await expectNoSeriousAccessibilityViolations(ops);
  await ops.getByRole('link', { name: requestId }).click();
  await expect(ops.getByTestId('request-state')).toHaveText('needs_attention');
  const timeline = ops.getByTestId('timeline');
  await expect(timeline).toContainText('Received');
  await expect(timeline).toContainText('POST permanent');
  await expectNoSeriousAccessibilityViolations(ops);

  // A viewer sees the same request, and is refused a retry in words.
  const viewer = await operator(browser, 'ops-viewer');
  await viewer.goto(`/console/requests/${requestId}`);
  await expect(viewer.getByTestId('request-state')).toHaveText('needs_attention');
  await viewer.getByLabel('Reason').first().fill('trying as a viewer');
  await viewer.getByRole('button', { name: 'Retry this request' }).click();
  await expect(viewer.getByRole('heading', { level: 1 })).toHaveText("Your role can't do this");
  await expect(viewer.getByRole('alert')).toContainText('ops-viewer, a viewer');
  await expectNoSeriousAccessibilityViolations(viewer);

  // The provider now knows the veteran: the operator retries, with a reason.
  await standing(request, veteran, 'known');
  const reason = 'the veteran was added to the provider by phone';
  await ops.getByLabel('Reason').first().fill(reason);
  await ops.getByRole('button', { name: 'Retry this request' }).click();
  await expect(ops).toHaveURL(new RegExp(`/console/requests/${requestId}$`));
  await expect(async () => {
    await ops.reload();
    await expect(ops.getByTestId('request-state')).toHaveText('active', { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(timeline).toContainText('retry by ops-operator (operator)');
  await expect(timeline).toContainText(reason);
  await expect(timeline).toContainText('POST created');
  await expectNoSeriousAccessibilityViolations(ops);

  await ops.goto('/console/report');
  await expect(ops.getByRole('heading', { level: 1 })).toHaveText('Remediation report');
  await expectNoSeriousAccessibilityViolations(ops);

  // And the veteran's page says so.
  await page.goto('/');
  await expect(panel(page)).toHaveAttribute('data-itf-state', 'active');
});

/** Sets compensation's rollout flag as ops-admin, through the console's form. */
async function setRollout(admin: Page, choice: 'On' | 'Off', reason: string) {
  await admin.goto('/console');
  // The design system hides the radio itself; people click its label.
  await admin.getByText(new RegExp(`^${choice}:`)).click();
  await expect(admin.getByLabel(new RegExp(`^${choice}:`))).toBeChecked();
  await admin.getByLabel('Why (kept in the audit log)').fill(reason);
  await admin.getByRole('button', { name: 'Set the flag' }).click();
  await expect(admin).toHaveURL(/\/console$/);
}

test('an admin turns compensation off and a new veteran waits for the provider, as before; then on again', async ({
  page,
  request,
  browser,
}) => {
  const admin = await operator(browser, 'ops-admin');
  await admin.goto('/console');
  await expect(admin.getByTestId('rollout')).toContainText('compensation');
  await expectNoSeriousAccessibilityViolations(admin);
  // Only an admin has the form.
  const ops = await operator(browser, 'ops-operator');
  await ops.goto('/console');
  await expect(ops.getByRole('button', { name: 'Set the flag' })).toHaveCount(0);

  await providerMode(request, 'down');
  try {
    await setRollout(admin, 'Off', 'the provider is failing; back to the old path');
    await expect(admin.getByTestId('rollout').getByRole('row', { name: /compensation/ })).toContainText('off');
    await expect(admin.getByTestId('rollout-changes')).toContainText('the provider is failing; back to the old path');

    // Within seconds every instance follows: a new veteran is told the
    // provider could not confirm, and nothing is recorded for them.
    await expect(async () => {
      await signIn(page, freshVeteran());
      await page.goto('/');
      await expect(panel(page)).toHaveAttribute('data-itf-state', 'unconfirmed', { timeout: 1_000 });
    }).toPass({ timeout: 10_000 });
    await expect(panel(page)).toContainText("We can't confirm if we have an Intent to File on record for you right now");
    await expect(page.getByRole('link', { name: 'Start your application' })).toBeVisible();
    await expectNoSeriousAccessibilityViolations(page);
  } finally {
    await setRollout(admin, 'On', 'the provider is steady again');
  }
  // The tests after this one take the asynchronous path again.
  await expect(async () => {
    await signIn(page, freshVeteran());
    await page.goto('/');
    await expect(panel(page)).toHaveAttribute('data-itf-state', 'pending', { timeout: 1_000 });
  }).toPass({ timeout: 10_000 });
});
