import { expect, test } from '@playwright/test';
import { visitStartPage, watchedContext } from './weight';

// The start page's weight, which does not depend on timing: at most
// 350 KB on a first visit, at most 20 KB on a repeat visit. bench/page
// measures the same, and the time to usable on slow 4G, on a release build.
test('the start page is light on a first visit and nearly free on a repeat one', async ({ browser, baseURL }) => {
  const { context, cdp } = await watchedContext(browser, baseURL!);
  const first = await visitStartPage(context, cdp, baseURL!);
  const repeat = await visitStartPage(context, cdp, baseURL!);
  await context.close();

  const versioned = first.files.filter((file) => /^\/(pkg|vads)-[0-9a-f]{12}\//.test(file.path));
  expect(versioned.length, JSON.stringify(first.files, null, 1)).toBeGreaterThan(4);
  for (const file of versioned) {
    expect(file.cacheControl, file.path).toContain('immutable');
    if (/\.(js|css|wasm)$/.test(file.path)) {
      expect(['br', 'gzip'], file.path).toContain(file.encoding);
    }
  }
  expect(first.bytes, JSON.stringify(first.files, null, 1)).toBeLessThanOrEqual(350 * 1024);
  expect(repeat.bytes, JSON.stringify(repeat.files, null, 1)).toBeLessThanOrEqual(20 * 1024);
});
