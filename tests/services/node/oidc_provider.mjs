// A real OpenID Connect provider (npm oidc-provider) for the SSO check tests.
//
// Usage: node oidc_provider.mjs '<json>' where json is
//   {"host": "127.0.0.1", "issuerPath": "", "responseTypes": ["code", "id_token"], "clients": [{client_id, redirect_uris, response_types, grant_types}]}
// It listens on a free port of `host` (default 127.0.0.1) chosen by the kernel (no race), builds the issuer
// http://<host>:<port><issuerPath> and prints one JSON line {"port": N, "issuer": "..."} once it accepts requests.
import http from 'node:http';

import Provider from 'oidc-provider';

const options = JSON.parse(process.argv[2] || '{}');

const server = http.createServer();
const host = options.host || '127.0.0.1';
server.listen(0, host, () => {
  const { port } = server.address();
  const issuer = `http://${host}:${port}${options.issuerPath || ''}`;
  const configuration = {
    clients: (options.clients || []).map((client) => ({
      token_endpoint_auth_method: 'none', // public clients, as W&B's docs ask for
      application_type: 'web',
      ...client,
    })),
    scopes: ['openid', 'profile', 'email'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
  };
  if (options.responseTypes) configuration.responseTypes = options.responseTypes;
  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  console.log(JSON.stringify({ port, issuer }));
});

// Stop cleanly when the test fixture terminates us.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
