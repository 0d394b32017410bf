// A real OpenID provider on loopback for the browser tests: the certified
// `oidc-provider`, with a client for veterans' sign-in and one for the
// console, and the accounts the tests sign in as. Its own development
// login page takes any account name below (and any password).
//
//   node oidc/provider.mjs
//
// ITF_E2E_OIDC_PORT: where it listens; ITF_E2E_APP_PORTS: the ports of the
// apps that may sign people in here, comma-separated; the clients'
// secrets in ITF_E2E_VETERAN_SECRET and ITF_E2E_OPERATOR_SECRET.
import Provider from 'oidc-provider';

const port = Number(process.env.ITF_E2E_OIDC_PORT ?? 3918);
const apps = (process.env.ITF_E2E_APP_PORTS ?? '3917').split(',').map((app) => `http://127.0.0.1:${app}`);
const each = (path) => apps.map((app) => `${app}${path}`);

const accounts = {
  // Wanda Brooks's ICN: the simulator holds an active ITF for it.
  'veteran-wanda': { given_name: 'Wanda', family_name: 'Brooks', icn: '1012667146V762143' },
  'veteran-no-icn': { given_name: 'Nora', family_name: 'Quinn' },
  'operator-ana': { email: 'ana@va.gov', groups: ['staff', 'itf-operators'] },
  'staff-bo': { email: 'bo@va.gov', groups: ['staff'] },
};

const scopes = 'openid profile email icn groups';

const configuration = {
  clients: [
    {
      client_id: 'itf-veterans',
      client_secret: process.env.ITF_E2E_VETERAN_SECRET,
      redirect_uris: each('/sign-in/callback'),
      post_logout_redirect_uris: each('/sign-in'),
    },
    {
      client_id: 'itf-console',
      client_secret: process.env.ITF_E2E_OPERATOR_SECRET,
      redirect_uris: each('/console/sign-in/callback'),
      post_logout_redirect_uris: each('/console/sign-in'),
    },
  ],
  claims: {
    openid: ['sub'],
    profile: ['given_name', 'family_name'],
    email: ['email'],
    icn: ['icn'],
    groups: ['groups'],
  },
  scopes: scopes.split(' '),
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ['itf-e2e-provider-cookies'] },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
  // Both clients are VA's own: no consent screen, as at VA's providers.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(scopes);
    await grant.save();
    return grant;
  },
};

const provider = new Provider(`http://127.0.0.1:${port}`, configuration);
provider.listen(port, '127.0.0.1', () => {
  console.log(`OpenID provider for the tests at http://127.0.0.1:${port}`);
});
