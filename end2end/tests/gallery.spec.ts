// The screenshot gallery for the collaboration-cycle review: every state of
// the start page, and the console's pages, at desktop and mobile widths,
// with an index. Run by scripts/gallery.sh.
import { expect, test } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { STATES, freshVeteran, openInState, panel, resetControls, signIn } from './helpers';

const OUT = resolve(process.env.GALLERY_DIR ?? join(__dirname, '..', '..', 'gallery'));
const WIDTHS = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'mobile', width: 375, height: 812 },
];

test('gallery of the start page in every state', async ({ browser, request }) => {
  mkdirSync(OUT, { recursive: true });
  const shots: { state: string; width: string; file: string }[] = [];
  for (const size of WIDTHS) {
    for (const state of STATES) {
      const context = await browser.newContext({ viewport: { width: size.width, height: size.height } });
      const page = await context.newPage();
      await openInState(page, request, state);
      const file = `${state}-${size.name}.png`;
      await page.screenshot({ path: join(OUT, file), fullPage: true });
      shots.push({ state, width: size.name, file });
      await resetControls(request);
      await context.close();
    }
  }
  // The console, as an operator sees a request that needs attention.
  const veteran = freshVeteran();
  await request.put(`/_sim/lighthouse/veterans/${veteran}/standing`, { data: { standing: 'unknown' } });
  const vet = await browser.newPage();
  await signIn(vet, veteran);
  await vet.goto('/');
  await expect(panel(vet)).toHaveAttribute('data-itf-state', 'needs_attention', { timeout: 30_000 });
  const list = await vet.request.get('/v0/intent_to_file');
  const requestId: string = (await list.json()).data.attributes.intent_to_file[0].request_id;
  const pages = [
    ['console-overview', '/console'],
    ['console-requests', '/console/requests?state=needs_attention'],
    ['console-request', `/console/requests/${requestId}`],
    ['console-report', '/console/report'],
  ];
  for (const size of WIDTHS) {
    const context = await browser.newContext({ viewport: { width: size.width, height: size.height } });
    const page = await context.newPage();
    await page.request.post('/console/sign-in/mock', { form: { user: 'ops-operator' }, maxRedirects: 0 });
    for (const [name, path] of pages) {
      await page.goto(path);
      const file = `${name}-${size.name}.png`;
      await page.screenshot({ path: join(OUT, file), fullPage: true });
      shots.push({ state: name, width: size.name, file });
    }
    await context.close();
  }
  const rows = shots
    .map((s) => `<figure><img src="${s.file}" alt="${s.state.startsWith('console') ? 'The console' : 'The start page'}, ${s.state}, ${s.width}"><figcaption>${s.state} — ${s.width}</figcaption></figure>`)
    .join('\n');
  writeFileSync(
    join(OUT, 'index.html'),
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>ITF Async: the start page in every state, and the console</title>
<style>body{font-family:sans-serif;margin:2rem}figure{display:inline-block;vertical-align:top;margin:0 1rem 2rem 0}img{max-width:420px;border:1px solid #ccc}</style></head>
<body><h1>ITF Async: the start page in every state, and the console</h1><p>Made ${new Date().toISOString()} by scripts/gallery.sh.</p>
${rows}
</body></html>\n`,
  );
  console.log(`gallery: ${shots.length} screenshots and index.html in ${OUT}`);
});
