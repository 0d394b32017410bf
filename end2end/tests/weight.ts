import { Browser, BrowserContext, CDPSession } from '@playwright/test';

/** One file a visit fetched: bytes on the wire, headers included. */
export interface Fetched {
  path: string;
  bytes: number;
  encoding: string;
  cacheControl: string;
}

/** Chrome's "Slow 4G": 150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up. */
export const SLOW_4G = { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 };

/** A browser context signed in as `user`, and a page with the network watched. */
export async function watchedContext(browser: Browser, baseURL: string, user = 'vet-active-itf') {
  const context = await browser.newContext({ baseURL });
  const signedIn = await context.request.post('/sign-in/mock', { form: { user }, maxRedirects: 0 });
  if (signedIn.status() !== 303) throw new Error(`mock sign-in answered ${signedIn.status()}`);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  return { context, cdp };
}

/**
 * Opens the start page until it is hydrated and the network is idle;
 * returns what it fetched and how long it took to be usable.
 */
export async function visitStartPage(context: BrowserContext, cdp: CDPSession, baseURL: string) {
  const page = context.pages()[0];
  const responses = new Map<string, Omit<Fetched, 'bytes'>>();
  const sizes = new Map<string, number>();
  const header = (headers: Record<string, string>, name: string) =>
    Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1] ?? '';
  const onResponse = (event: { requestId: string; response: { url: string; headers: Record<string, string> } }) =>
    responses.set(event.requestId, {
      path: event.response.url.replace(baseURL, ''),
      encoding: header(event.response.headers, 'content-encoding'),
      cacheControl: header(event.response.headers, 'cache-control'),
    });
  const onFinished = (event: { requestId: string; encodedDataLength: number }) =>
    sizes.set(event.requestId, event.encodedDataLength);
  cdp.on('Network.responseReceived', onResponse);
  cdp.on('Network.loadingFinished', onFinished);
  const started = Date.now();
  await page.goto('/');
  await page.locator('main[data-hydrated="true"]').waitFor({ timeout: 120_000 });
  const usableSeconds = (Date.now() - started) / 1000;
  await page.waitForLoadState('networkidle');
  cdp.off('Network.responseReceived', onResponse);
  cdp.off('Network.loadingFinished', onFinished);
  const files: Fetched[] = [...sizes].map(([id, bytes]) => ({
    ...(responses.get(id) ?? { path: '?', encoding: '', cacheControl: '' }),
    bytes,
  }));
  return { files, bytes: files.reduce((sum, file) => sum + file.bytes, 0), usableSeconds };
}
