import { writeFileSync } from 'node:fs';
import { test } from '@playwright/test';
import { SLOW_4G, visitStartPage, watchedContext } from './weight';

// bench/page's measurement (the "page" project): bytes on a first and a
// repeat visit of the start page, and the time until it is hydrated on a
// first visit under slow 4G; written to ITF_PAGE_REPORT for the bench to
// print. Nothing here is asserted: figures depend on the machine.
test('measure the start page', async ({ browser, baseURL }) => {
  const { context, cdp } = await watchedContext(browser, baseURL!);
  const first = await visitStartPage(context, cdp, baseURL!);
  const repeat = await visitStartPage(context, cdp, baseURL!);
  await context.close();

  const slow = await watchedContext(browser, baseURL!);
  await slow.cdp.send('Network.emulateNetworkConditions', SLOW_4G);
  const throttled = await visitStartPage(slow.context, slow.cdp, baseURL!);
  await slow.context.close();

  const report = { first: first.bytes, repeat: repeat.bytes, slow4gUsableSeconds: throttled.usableSeconds, files: first.files };
  writeFileSync(process.env.ITF_PAGE_REPORT ?? 'page-report.json', JSON.stringify(report));
});
