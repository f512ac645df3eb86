// The peer of bench/run: node oidc-provider with one confidential client and the clientCredentials,
// introspection and revocation features, as shared/reference/real-clients.md describes it. In-memory adapter
// (the library's default), production mode, 127.0.0.1 only.
//
// Usage: node peer/oidc-provider.mjs PORT CLIENT_ID CLIENT_SECRET [opaque|jwt]
//
// Access tokens are opaque by default, the library's default: a random string kept in memory, which costs
// no signature. With `jwt`, client_credentials tokens are RS256 JWTs for one resource server (through
// the resourceIndicators feature, the library's way to issue them), which is what Gatehouse issues: the
// like-for-like peer of Gatehouse's client_credentials row. The library does not introspect JWT access
// tokens, so the introspection row uses the opaque mode.
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, format = 'opaque'] = process.argv.slice(2);
if (!port || !clientId || !clientSecret || !['opaque', 'jwt'].includes(format)) {
  console.error('usage: node peer/oidc-provider.mjs PORT CLIENT_ID CLIENT_SECRET [opaque|jwt]');
  process.exit(2);
}
const RESOURCE = 'urn:bench:api';
const resourceIndicators = format === 'jwt'
  ? {
    enabled: true,
    defaultResource: () => RESOURCE,
    useGrantedResource: () => true,
    getResourceServerInfo: () => ({
      scope: 'api:read',
      audience: RESOURCE,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: 'RS256' } },
    }),
  }
  : { enabled: false };

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
    resourceIndicators,
  },
  pkce: { required: () => true },
});

const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.error(`oidc-provider listening on ${issuer}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
