// VA.gov's front end, as far as the 526 form's Intent to File goes: a page
// served from another origin of the same site (127.0.0.1 on its own port,
// as www.va.gov is to api.va.gov) that runs vets-website's ITF logic,
// ported from its "all-claims" form, against the app.
//
//   ITF_E2E_VA_GOV_PORT  where this page listens
//   ITF_E2E_API          the app's address, such as http://127.0.0.1:3917
import http from 'node:http';
import { readFileSync } from 'node:fs';

const port = Number(process.env.ITF_E2E_VA_GOV_PORT ?? 3920);
const api = process.env.ITF_E2E_API ?? 'http://127.0.0.1:3917';
const page = readFileSync(new URL('./itf.html', import.meta.url), 'utf8').replace('__API__', api);

http
  .createServer((request, response) => {
    if (request.url === '/' || request.url.startsWith('/?')) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return response.end(page);
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not here');
  })
  .listen(port, '127.0.0.1', () => console.log(`VA.gov stand-in listening on ${port}`));
