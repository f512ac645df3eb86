// The peer of bench/run: node oidc-provider with one confidential client and the clientCredentials,
// introspection and revocation features, as shared/reference/real-clients.md describes it. In-memory adapter
// (the library's default), production mode, 127.0.0.1 only.
//
// Usage: node peer/oidc-provider.mjs PORT CLIENT_ID CLIENT_SECRET
import Provider from 'oidc-provider';

const [port, clientId, clientSecret] = process.argv.slice(2);
if (!port || !clientId || !clientSecret) {
  console.error('usage: node peer/oidc-provider.mjs PORT CLIENT_ID CLIENT_SECRET');
  process.exit(2);
}

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:1/callback'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid offline_access api:read',
    },
  ],
  scopes: ['openid', 'offline_access', 'api:read'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
  },
  pkce: { required: () => true },
});

const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.error(`oidc-provider listening on ${issuer}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
