// Gatehouse's OAuth 2.0 / OpenID Connect server driven by a strict, certified relying party: `openid-client`
// (npm, by panva), unchanged. The login and consent forms are posted as a browser would (lib/oauth.mjs);
// the resulting access tokens are then used with the official Make SDK.
//
// One real `gatehouse serve` for this file (fresh SQLite database in a temp dir); the clients are made with
// the real CLI (`gatehouse client create`) while the server runs. The issuer is the server's own URL,
// http://127.0.0.1:PORT, and openid-client is told to allow plain http (loopback only).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import * as oidc from 'openid-client';
import { Make, MakeError } from '@makehq/sdk';

import { startGatehouse } from './lib/gatehouse.mjs';
import {
    authorize,
    codeFlow,
    createClient,
    decodeJwt,
    discover,
    prepareAuthorization,
    runAuthorization,
} from './lib/oauth.mjs';

const UUID_V4_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const ACCESS_TOKEN_LIFETIME = 300; // Make's documented 5 minutes, the server's default

const CONFIDENTIAL_REDIRECT = 'https://rp.interop.local/oauth/callback';
const PUBLIC_REDIRECT = 'http://127.0.0.1/spa/callback';
const CONFIDENTIAL_SCOPES = ['openid', 'profile', 'email', 'offline_access', 'user:read', 'organizations:read', 'teams:read'];
const PUBLIC_SCOPES = ['openid', 'profile', 'email', 'user:read', 'organizations:read'];
// What the main flows ask for: OIDC plus two of Make's API scopes (teams:read is approved but not asked for).
const FLOW_SCOPE = 'openid profile email user:read organizations:read';
const FLOW_API_SCOPES = ['organizations:read', 'user:read'];

const TEST_OPTIONS = { timeout: 60_000 };

let gh; // the running server
let admin; // first-start JSON: {email,password,token,userId,organizationId,teamId}
let issuer; // 'http://127.0.0.1:PORT', exactly
let secondOrgId; // another organization of the administrator, offered on the consent page but not chosen
const clients = {}; // name -> {client_id, client_secret}

const sorted = (xs) => [...xs].sort();

/** Messages and claim/attribute names along an error's cause chain (openid-client wraps oauth4webapi's). */
function causeChain(error) {
    const parts = [];
    for (let e = error, depth = 0; e && depth < 5; e = e.cause, depth++) {
        if (typeof e === 'object') parts.push(String(e.message ?? ''), String(e.claim ?? ''), String(e.attribute ?? ''));
    }
    return parts.join(' | ');
}

function sdk(accessToken) {
    const make = new Make(accessToken, gh.host);
    make.protocol = 'http';
    return make;
}

/** Asserts that `promise` rejects with a MakeError of `statusCode`. */
async function rejectsMake(promise, statusCode, messageRe) {
    await assert.rejects(promise, (error) => {
        assert.ok(error instanceof MakeError, `expected a MakeError, got ${error?.constructor?.name}: ${error?.message}`);
        assert.equal(error.statusCode, statusCode, `statusCode (message: ${error.message})`);
        if (messageRe) assert.match(error.message, messageRe);
        return true;
    });
}

/** openid-client configuration for one of the registered clients. */
function configFor(name, method = 'post', options) {
    const { client_id: clientId, client_secret: secret } = clients[name];
    const auth =
        method === 'none'
            ? oidc.None()
            : method === 'basic'
              ? oidc.ClientSecretBasic(secret)
              : oidc.ClientSecretPost(secret);
    return discover(issuer, clientId, auth, options);
}

/** The whole code + PKCE flow as the administrator, choosing the default organization. */
function adminFlow(config, { redirectUri = CONFIDENTIAL_REDIRECT, scope = FLOW_SCOPE, ...rest } = {}) {
    return codeFlow(config, {
        redirectUri,
        scope,
        email: admin.email,
        password: admin.password,
        organizationId: admin.organizationId,
        ...rest,
    });
}

/** Records the requests openid-client sends, to check which client authentication it really used. */
function recorder() {
    const seen = [];
    const onRequest = (url, init) => {
        const headers = new Headers(init?.headers);
        let body = init?.body;
        if (body instanceof URLSearchParams) body = body.toString();
        seen.push({ url: String(url), method: init?.method ?? 'GET', authorization: headers.get('authorization'), body: new URLSearchParams(typeof body === 'string' ? body : '') });
    };
    return { seen, onRequest };
}

let jwksCache;
async function jwks() {
    if (!jwksCache) {
        const res = await fetch(`${issuer}/oauth/v2/oidc/jwks`);
        assert.equal(res.status, 200);
        jwksCache = await res.json();
    }
    return jwksCache;
}

/** Verifies a compact JWS against the published JWKS (by kid), with node:crypto alone. */
async function assertSignedByIssuer(jwt, what) {
    const { header, signingInput, signature } = decodeJwt(jwt);
    assert.equal(header.alg, 'RS256', `${what}: alg`);
    assert.equal(typeof header.kid, 'string', `${what}: a kid is needed to pick the key`);
    const set = await jwks();
    const jwk = set.keys.find((k) => k.kid === header.kid);
    assert.ok(jwk, `${what}: kid ${header.kid} is not in the JWKS (${set.keys.map((k) => k.kid)})`);
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    assert.ok(verifySignature('sha256', Buffer.from(signingInput), key, signature), `${what}: the RS256 signature does not verify`);
    // And the same check must fail for a tampered payload (the verification above can fail).
    const tampered = Buffer.from(signingInput.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
    assert.ok(!verifySignature('sha256', tampered, key, signature), `${what}: a tampered token verifies`);
}

/** RFC 9068 shape of an access token issued to `clientId`. */
function assertRfc9068(accessToken, { clientId, sub, scopes }) {
    assert.doesNotMatch(accessToken, UUID_V4_RE, 'an OAuth access token must never look like a UUIDv4');
    const { header, payload } = decodeJwt(accessToken);
    assert.match(String(header.typ), /^(application\/)?at\+jwt$/i, `typ: ${header.typ}`);
    assert.equal(payload.iss, issuer, 'iss');
    assert.equal(payload.client_id, clientId, 'client_id');
    if (sub !== undefined) assert.equal(payload.sub, sub, 'sub');
    else assert.equal(typeof payload.sub, 'string', 'sub');
    assert.ok(typeof payload.aud === 'string' || Array.isArray(payload.aud), `aud: ${JSON.stringify(payload.aud)}`);
    assert.equal(typeof payload.jti, 'string', 'jti');
    assert.ok(payload.jti.length > 0);
    assert.equal(typeof payload.scope, 'string', 'scope is a space-delimited string');
    for (const scope of scopes) assert.ok(payload.scope.split(' ').includes(scope), `scope ${payload.scope} lacks ${scope}`);
    assert.ok(Number.isInteger(payload.iat) && Number.isInteger(payload.exp), 'iat and exp are integers');
    assert.equal(payload.exp - payload.iat, ACCESS_TOKEN_LIFETIME, 'default access-token lifetime');
    assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 60, `iat ${payload.iat} is not now`);
    return payload;
}

/** expires_in tells the truth: it matches the JWT's exp. */
function assertExpiresIn(tokens) {
    assert.equal(typeof tokens.expires_in, 'number', `expires_in: ${tokens.expires_in}`);
    assert.ok(tokens.expires_in > 0 && tokens.expires_in <= ACCESS_TOKEN_LIFETIME, `expires_in ${tokens.expires_in}`);
    const { exp } = decodeJwt(tokens.access_token).payload;
    assert.ok(Math.abs(Date.now() / 1000 + tokens.expires_in - exp) <= 5, `expires_in ${tokens.expires_in} vs exp ${exp}`);
}

/** The callback of a successful authorization: code, state, and RFC 9207 iss. */
function assertSuccessCallback(flow, redirectUri) {
    const url = flow.callbackUrl;
    assert.equal(`${url.origin}${url.pathname}`, redirectUri, `callback ${url}`);
    assert.ok(url.searchParams.get('code'), `no code in ${url}`);
    assert.equal(url.searchParams.get('state'), flow.state, 'state');
    assert.equal(url.searchParams.get('iss'), issuer, 'iss (RFC 9207)');
    assert.equal(url.searchParams.get('error'), null);
}

before(async () => {
    gh = await startGatehouse();
    admin = gh.admin;
    issuer = `http://127.0.0.1:${gh.port}`;
    secondOrgId = Number(await gh.cli(['org', 'create', '--name', 'Second org', '--owner', admin.email]));
    assert.ok(Number.isInteger(secondOrgId) && secondOrgId > 0, `org create printed ${secondOrgId}`);

    const confidential = (name) =>
        createClient(gh, { name, type: 'confidential', redirectUris: [CONFIDENTIAL_REDIRECT], scopes: CONFIDENTIAL_SCOPES });
    for (const name of ['post', 'basic', 'refresh', 'introspect', 'revoke', 'sdk', 'deny', 'cc', 'remembered', 'comma', 'app', 'prompt']) {
        clients[name] = await confidential(`interop ${name}`);
    }
    clients.public = await createClient(gh, {
        name: 'interop public',
        type: 'public',
        redirectUris: [PUBLIC_REDIRECT],
        scopes: PUBLIC_SCOPES,
    });
});

after(async () => {
    if (!gh) return;
    const exit = await gh.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, `gatehouse did not shut down cleanly:\n${gh.stderr().slice(-2000)}`);
});

// ---------------------------------------------------------------------------------------------------------
// Discovery

test('discovery: openid-client accepts the metadata; issuer is the server URL byte for byte', TEST_OPTIONS, async () => {
    // openid-client itself refuses metadata whose issuer differs from the URL it was given.
    const config = await configFor('post');
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, issuer);
    assert.equal(meta.authorization_endpoint, `${issuer}/oauth/v2/authorize`);
    assert.equal(meta.token_endpoint, `${issuer}/oauth/v2/token`);
    assert.equal(meta.revocation_endpoint, `${issuer}/oauth/v2/revoke`);
    assert.equal(meta.introspection_endpoint, `${issuer}/oauth/v2/introspect`);
    assert.equal(meta.jwks_uri, `${issuer}/oauth/v2/oidc/jwks`);
    assert.equal(meta.userinfo_endpoint, `${issuer}/oauth/v2/oidc/userinfo`);
    assert.equal(meta.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256'], 'S256 only; plain is refused');
    assert.ok(meta.response_types_supported.includes('code'));
    assert.ok(meta.id_token_signing_alg_values_supported.includes('RS256'));
    assert.ok(meta.grant_types_supported.includes('authorization_code'));
    for (const method of ['client_secret_post', 'client_secret_basic', 'none']) {
        assert.ok(meta.token_endpoint_auth_methods_supported.includes(method), `token_endpoint_auth_methods_supported lacks ${method}`);
    }
    for (const scope of ['openid', 'profile', 'email', 'offline_access', 'user:read', 'organizations:read']) {
        assert.ok(meta.scopes_supported.includes(scope), `scopes_supported lacks ${scope}`);
    }

    // The raw document says exactly the same, with no trailing slash.
    const raw = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
    assert.equal(raw.issuer, issuer);

    // The check is real: the same server reached as "localhost" is another issuer, and openid-client refuses it.
    await assert.rejects(
        oidc.discovery(new URL(`http://localhost:${gh.port}`), clients.post.client_id, clients.post.client_secret, undefined, {
            execute: [oidc.allowInsecureRequests],
        }),
        (error) => causeChain(error).includes('issuer'),
    );
});

test('discovery: the OIDC alias, RFC 8414 metadata and the JWKS agree', TEST_OPTIONS, async () => {
    const fetchJson = async (path) => {
        const res = await fetch(`${issuer}${path}`);
        assert.equal(res.status, 200, `${path} answered ${res.status}`);
        assert.match(res.headers.get('content-type') ?? '', /^application\/json(;|$)/, `${path} content-type`);
        return res.json();
    };
    const main = await fetchJson('/.well-known/openid-configuration');
    const alias = await fetchJson('/oauth/v2/oidc/.well-known/openid-configuration');
    const rfc8414 = await fetchJson('/.well-known/oauth-authorization-server');
    assert.deepEqual(alias, main, 'the OIDC alias path serves the same document');
    assert.equal(rfc8414.issuer, issuer);
    assert.equal(rfc8414.token_endpoint, main.token_endpoint);
    assert.equal(rfc8414.authorization_endpoint, main.authorization_endpoint);

    // RFC 8414 discovery through openid-client too (it picks the path from the algorithm option).
    const viaOauth = await oidc.discovery(new URL(issuer), clients.post.client_id, clients.post.client_secret, undefined, {
        execute: [oidc.allowInsecureRequests],
        algorithm: 'oauth2',
    });
    assert.equal(viaOauth.serverMetadata().issuer, issuer);

    const set = await jwks();
    assert.ok(Array.isArray(set.keys) && set.keys.length >= 1, `JWKS: ${JSON.stringify(set)}`);
    const kids = set.keys.map((k) => k.kid);
    assert.equal(new Set(kids).size, kids.length, `duplicate kids: ${kids}`);
    for (const key of set.keys) {
        assert.equal(key.kty, 'RSA', `kty of ${key.kid}`);
        assert.equal(typeof key.kid, 'string');
        assert.ok(key.n && key.e, `RSA public parameters of ${key.kid}`);
        for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
            assert.ok(!(secret in key), `the JWKS publishes the private parameter ${secret} of ${key.kid}`);
        }
        if ('use' in key) assert.equal(key.use, 'sig');
        if ('alg' in key) assert.equal(key.alg, 'RS256');
        assert.ok(Buffer.from(key.n, 'base64url').length >= 256, `RSA key ${key.kid} is shorter than 2048 bits`);
    }
});

// ---------------------------------------------------------------------------------------------------------
// Authorization code + PKCE

test('code + PKCE, confidential client, client_secret_post (Make)', TEST_OPTIONS, async () => {
    const { seen, onRequest } = recorder();
    const config = await configFor('post', 'post', { onRequest });
    const flow = await adminFlow(config);
    assert.deepEqual(flow.pages, ['login', 'consent'], 'a fresh browser sees the login page, then the consent page');
    assert.ok(flow.organizations.includes(String(admin.organizationId)), `consent offers ${flow.organizations}`);
    assert.ok(flow.organizations.includes(String(secondOrgId)), `consent offers ${flow.organizations}`);
    assertSuccessCallback(flow, CONFIDENTIAL_REDIRECT);
    assert.equal(flow.url.searchParams.get('code_challenge_method'), 'S256');

    const tokenRequest = seen.find((r) => r.url === `${issuer}/oauth/v2/token`);
    assert.ok(tokenRequest, 'openid-client made no token request');
    assert.equal(tokenRequest.body.get('client_secret'), clients.post.client_secret, 'client_secret_post sends the secret in the body');
    assert.equal(tokenRequest.authorization, null);
    assert.equal(tokenRequest.body.get('code_verifier'), flow.codeVerifier);

    const { tokens } = flow;
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assertExpiresIn(tokens);
    assert.equal(typeof tokens.id_token, 'string', 'openid was granted: an ID token is returned');
    assert.equal(typeof tokens.refresh_token, 'string', 'a confidential client gets a refresh token (Make)');
    assert.doesNotMatch(tokens.refresh_token, UUID_V4_RE);
    const claims = tokens.claims();
    assertRfc9068(tokens.access_token, { clientId: clients.post.client_id, sub: claims.sub, scopes: FLOW_API_SCOPES });
    if (tokens.scope !== undefined) {
        assert.deepEqual(sorted(tokens.scope.split(' ')), sorted(FLOW_SCOPE.split(' ')), `granted scope ${tokens.scope}`);
    }

    // The code is single-use: redeeming the same callback again fails with invalid_grant.
    await assert.rejects(
        oidc.authorizationCodeGrant(config, flow.callbackUrl, {
            pkceCodeVerifier: flow.codeVerifier,
            expectedState: flow.state,
            expectedNonce: flow.nonce,
        }),
        (error) => error instanceof oidc.ResponseBodyError && error.error === 'invalid_grant',
    );
    // ...and the replay revokes what the code gave (RFC 6749 §4.1.2, OAuth 2.0 Security BCP §4.5).
    assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false, 'access token survives a code replay');
    assert.equal((await oidc.tokenIntrospection(config, tokens.refresh_token)).active, false, 'refresh token survives a code replay');
    await rejectsMake(sdk(tokens.access_token).users.me(), 401);
});

test('code + PKCE, confidential client, client_secret_basic', TEST_OPTIONS, async () => {
    const { seen, onRequest } = recorder();
    const config = await configFor('basic', 'basic', { onRequest });
    const flow = await adminFlow(config);
    assertSuccessCallback(flow, CONFIDENTIAL_REDIRECT);

    const tokenRequest = seen.find((r) => r.url === `${issuer}/oauth/v2/token`);
    assert.ok(tokenRequest, 'openid-client made no token request');
    assert.match(tokenRequest.authorization ?? '', /^Basic /, 'client_secret_basic sends an Authorization header');
    assert.equal(tokenRequest.body.get('client_secret'), null, 'and no secret in the body');

    const { tokens } = flow;
    assert.equal(typeof tokens.id_token, 'string');
    assert.equal(typeof tokens.refresh_token, 'string');
    assertRfc9068(tokens.access_token, { clientId: clients.basic.client_id, sub: tokens.claims().sub, scopes: FLOW_API_SCOPES });

    // A wrong secret, sent the Basic way, is invalid_client.
    const wrong = await discover(issuer, clients.basic.client_id, oidc.ClientSecretBasic('not-the-secret'));
    const again = await authorize(wrong, {
        redirectUri: CONFIDENTIAL_REDIRECT,
        scope: FLOW_SCOPE,
        email: admin.email,
        password: admin.password,
        organizationId: admin.organizationId,
    });
    await assert.rejects(
        oidc.authorizationCodeGrant(wrong, again.callbackUrl, {
            pkceCodeVerifier: again.codeVerifier,
            expectedState: again.state,
            expectedNonce: again.nonce,
        }),
        (error) =>
            (error instanceof oidc.ResponseBodyError && error.error === 'invalid_client') ||
            (error instanceof oidc.WWWAuthenticateChallengeError && error.response?.status === 401),
    );
});

test('code + PKCE, public client (auth none): tokens without a refresh token', TEST_OPTIONS, async () => {
    const { seen, onRequest } = recorder();
    const config = await configFor('public', 'none', { onRequest });
    const flow = await adminFlow(config, { redirectUri: PUBLIC_REDIRECT });
    assert.deepEqual(flow.pages, ['login', 'consent']);
    assertSuccessCallback(flow, PUBLIC_REDIRECT);

    const tokenRequest = seen.find((r) => r.url === `${issuer}/oauth/v2/token`);
    assert.ok(tokenRequest, 'openid-client made no token request');
    assert.equal(tokenRequest.body.get('client_id'), clients.public.client_id);
    assert.equal(tokenRequest.body.get('client_secret'), null);
    assert.equal(tokenRequest.authorization, null);
    assert.equal(tokenRequest.body.get('code_verifier'), flow.codeVerifier);

    const { tokens } = flow;
    assert.equal(typeof tokens.id_token, 'string');
    assert.equal(tokens.refresh_token, undefined, 'public clients get no refresh token by default (Make)');
    assertExpiresIn(tokens);
    const claims = tokens.claims();
    assert.equal(claims.aud === clients.public.client_id || claims.aud.includes(clients.public.client_id), true);
    assertRfc9068(tokens.access_token, { clientId: clients.public.client_id, sub: claims.sub, scopes: FLOW_API_SCOPES });
    assert.equal((await sdk(tokens.access_token).users.me()).id, admin.userId);
});

test('PKCE is enforced: a wrong code_verifier is invalid_grant', TEST_OPTIONS, async () => {
    const config = await configFor('public', 'none');
    const flow = await authorize(config, {
        redirectUri: PUBLIC_REDIRECT,
        scope: FLOW_SCOPE,
        email: admin.email,
        password: admin.password,
        organizationId: admin.organizationId,
    });
    await assert.rejects(
        oidc.authorizationCodeGrant(config, flow.callbackUrl, {
            pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
            expectedState: flow.state,
            expectedNonce: flow.nonce,
        }),
        (error) => error instanceof oidc.ResponseBodyError && error.error === 'invalid_grant',
    );
});

// ---------------------------------------------------------------------------------------------------------
// ID token

test('ID token: validated by openid-client (signature via JWKS, iss, aud, nonce); a wrong nonce is refused', TEST_OPTIONS, async () => {
    const config = await configFor('post');
    const { tokens, nonce } = await adminFlow(config);
    // authorizationCodeGrant() already checked signature, iss, aud, azp, exp, iat and nonce.
    const claims = tokens.claims();
    assert.equal(claims.iss, issuer);
    assert.ok(claims.aud === clients.post.client_id || (Array.isArray(claims.aud) && claims.aud.includes(clients.post.client_id)));
    assert.equal(claims.nonce, nonce);
    assert.equal(typeof claims.sub, 'string');
    assert.ok(claims.sub.length > 0);
    assert.equal(claims.azp, clients.post.client_id, 'azp');
    assert.ok(Number.isInteger(claims.auth_time), `auth_time: ${claims.auth_time}`);
    assert.ok(claims.auth_time <= claims.iat + 1 && claims.iat - claims.auth_time < 120, 'auth_time is the login just made');
    // at_hash: base64url of the left half of SHA-256(access_token) (OIDC Core §3.1.3.6, RS256).
    const digest = createHash('sha256').update(tokens.access_token).digest();
    assert.equal(claims.at_hash, digest.subarray(0, 16).toString('base64url'), 'at_hash');

    const { header } = decodeJwt(tokens.id_token);
    assert.equal(header.alg, 'RS256');
    await assertSignedByIssuer(tokens.id_token, 'ID token');
    await assertSignedByIssuer(tokens.access_token, 'access token');

    // The nonce check can fail: openid-client refuses an ID token whose nonce is not the one it sent.
    const flow = await authorize(config, {
        redirectUri: CONFIDENTIAL_REDIRECT,
        scope: FLOW_SCOPE,
        email: admin.email,
        password: admin.password,
        organizationId: admin.organizationId,
    });
    await assert.rejects(
        oidc.authorizationCodeGrant(config, flow.callbackUrl, {
            pkceCodeVerifier: flow.codeVerifier,
            expectedState: flow.state,
            expectedNonce: oidc.randomNonce(),
        }),
        (error) => causeChain(error).includes('nonce'),
    );
});

// ---------------------------------------------------------------------------------------------------------
// UserInfo

test('userinfo via fetchUserInfo: sub matches the ID token', TEST_OPTIONS, async () => {
    const config = await configFor('post');
    const { tokens } = await adminFlow(config);
    const { sub } = tokens.claims();
    // fetchUserInfo() checks that the response's sub equals the one given.
    const info = await oidc.fetchUserInfo(config, tokens.access_token, sub);
    assert.equal(info.sub, sub);
    assert.equal(info.email, admin.email, 'the email scope was granted');
    assert.equal(typeof info.name, 'string', 'the profile scope was granted');

    // A different expected subject is refused by the client: the check above can fail.
    await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, `${sub}-someone-else`), (error) => causeChain(error).includes('"sub"'));
    // And a made-up token is refused by the server.
    await assert.rejects(oidc.fetchUserInfo(config, 'not-a-token', sub), (error) => (error.status ?? error.response?.status ?? error.cause?.status) === 401);
});

test('userinfo also takes the ID token as Bearer (Make documents that)', TEST_OPTIONS, async () => {
    const config = await configFor('post');
    const { tokens } = await adminFlow(config);
    const res = await fetch(`${issuer}/oauth/v2/oidc/userinfo`, { headers: { authorization: `Bearer ${tokens.id_token}` } });
    assert.equal(res.status, 200, await res.clone().text());
    const info = await res.json();
    assert.equal(info.sub, tokens.claims().sub);
});

// ---------------------------------------------------------------------------------------------------------
// Refresh, introspection, revocation

test('refresh with rotation: each refreshTokenGrant returns a new refresh token that works again', TEST_OPTIONS, async () => {
    const config = await configFor('refresh');
    const { tokens } = await adminFlow(config);
    const sub = tokens.claims().sub;
    const first = tokens.refresh_token;
    assert.equal(typeof first, 'string');

    const second = await oidc.refreshTokenGrant(config, first);
    assert.equal(typeof second.refresh_token, 'string', 'the refresh response carries a new refresh token');
    assert.notEqual(second.refresh_token, first, 'the refresh token rotated');
    assert.notEqual(second.access_token, tokens.access_token, 'a new access token');
    assertExpiresIn(second);
    assertRfc9068(second.access_token, { clientId: clients.refresh.client_id, sub, scopes: FLOW_API_SCOPES });
    if (second.id_token) assert.equal(second.claims().sub, sub, 'a refreshed ID token is for the same subject');

    const third = await oidc.refreshTokenGrant(config, second.refresh_token);
    assert.equal(typeof third.refresh_token, 'string');
    assert.notEqual(third.refresh_token, second.refresh_token, 'rotated again');
    assert.notEqual(third.refresh_token, first);

    // The refreshed access tokens work on the API.
    const me = await sdk(third.access_token).users.me();
    assert.equal(me.id, admin.userId);
    // Scope can only narrow: a refresh asking for less gets less.
    const narrowed = await oidc.refreshTokenGrant(config, third.refresh_token, { scope: 'openid user:read' });
    const narrowedScope = decodeJwt(narrowed.access_token).payload.scope.split(' ');
    assert.ok(!narrowedScope.includes('organizations:read'), `narrowed scope ${narrowedScope}`);
    assert.ok(narrowedScope.includes('user:read'));
    // ...and never widen: asking for a scope the grant does not hold is invalid_scope.
    await assert.rejects(
        oidc.refreshTokenGrant(config, narrowed.refresh_token, { scope: `${FLOW_SCOPE} teams:read` }),
        (error) => error instanceof oidc.ResponseBodyError && error.error === 'invalid_scope',
    );
});

test('introspection: active access and refresh tokens, inactive garbage', TEST_OPTIONS, async () => {
    const config = await configFor('introspect');
    const { tokens } = await adminFlow(config);
    const sub = tokens.claims().sub;

    const access = await oidc.tokenIntrospection(config, tokens.access_token);
    assert.equal(access.active, true);
    assert.equal(typeof access.scope, 'string', 'scope is a space-delimited string');
    for (const scope of FLOW_API_SCOPES) assert.ok(access.scope.split(' ').includes(scope), `introspected scope ${access.scope}`);
    assert.ok(!access.scope.split(' ').includes('teams:read'), 'a scope that was not asked for is not granted');
    assert.equal(access.client_id, clients.introspect.client_id);
    assert.equal(access.sub, sub);
    assert.equal(access.exp, decodeJwt(tokens.access_token).payload.exp);
    if ('iss' in access) assert.equal(access.iss, issuer);

    const refresh = await oidc.tokenIntrospection(config, tokens.refresh_token, { token_type_hint: 'refresh_token' });
    assert.equal(refresh.active, true);
    assert.equal(refresh.client_id, clients.introspect.client_id);

    const garbage = await oidc.tokenIntrospection(config, 'definitely-not-a-token');
    assert.deepEqual(garbage, { active: false }, 'an unknown token is only {active:false} (RFC 7662 §2.2)');

    // A tampered access token (one payload character changed) is not active.
    const [h, p, s] = tokens.access_token.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url'));
    payload.scope = `${payload.scope} teams:read`;
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    assert.equal((await oidc.tokenIntrospection(config, forged)).active, false, 'a forged JWT introspects active');
});

test('revocation: a revoked access token introspects inactive and gets 401 from the API (SDK)', TEST_OPTIONS, async () => {
    const config = await configFor('revoke');
    const { tokens } = await adminFlow(config);
    const make = sdk(tokens.access_token);
    assert.equal((await make.users.me()).id, admin.userId); // works, and may now be cached by the server

    await oidc.tokenRevocation(config, tokens.access_token); // resolves only on 200
    assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false);
    // "At once": allow only the store's revocation-feed poll (250 ms) plus slack.
    const deadline = Date.now() + 1000;
    for (;;) {
        try {
            await make.users.me();
        } catch (error) {
            assert.ok(error instanceof MakeError, `expected MakeError, got ${error}`);
            assert.equal(error.statusCode, 401);
            break;
        }
        assert.ok(Date.now() < deadline, 'the revoked access token was still accepted after one second');
        await sleep(20);
    }
    await rejectsMake(make.users.currentAuthorization(), 401);

    // Revoking an unknown token is still 200 (RFC 7009 §2.2).
    await oidc.tokenRevocation(config, 'never-issued-token');
});

test('revocation: a revoked refresh token introspects inactive and cannot be used', TEST_OPTIONS, async () => {
    const config = await configFor('revoke');
    const { tokens } = await adminFlow(config);
    assert.equal((await oidc.tokenIntrospection(config, tokens.refresh_token)).active, true);
    await oidc.tokenRevocation(config, tokens.refresh_token, { token_type_hint: 'refresh_token' });
    assert.equal((await oidc.tokenIntrospection(config, tokens.refresh_token)).active, false);
    await assert.rejects(
        oidc.refreshTokenGrant(config, tokens.refresh_token),
        (error) => error instanceof oidc.ResponseBodyError && error.error === 'invalid_grant',
    );
});

// ---------------------------------------------------------------------------------------------------------
// client_credentials

test('client_credentials: a confidential client gets an access token for itself', TEST_OPTIONS, async () => {
    const config = await configFor('cc');
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'organizations:read' });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assertExpiresIn(tokens);
    assert.equal(tokens.refresh_token, undefined, 'no refresh token for client_credentials (RFC 6749 §4.4.3)');
    assert.equal(tokens.id_token, undefined, 'no ID token without a user');
    const { header, payload } = decodeJwt(tokens.access_token);
    assert.match(String(header.typ), /^(application\/)?at\+jwt$/i);
    assert.equal(payload.iss, issuer);
    assert.equal(payload.client_id, clients.cc.client_id);
    assert.deepEqual(payload.scope.split(' '), ['organizations:read']);
    await assertSignedByIssuer(tokens.access_token, 'client_credentials access token');

    const introspected = await oidc.tokenIntrospection(config, tokens.access_token);
    assert.equal(introspected.active, true);
    assert.equal(introspected.client_id, clients.cc.client_id);
    assert.equal(introspected.scope, 'organizations:read');

    // Without a scope parameter: the client's approved API scopes.
    const all = await oidc.clientCredentialsGrant(config);
    const allScopes = decodeJwt(all.access_token).payload.scope.split(' ');
    assert.deepEqual(sorted(allScopes), sorted(CONFIDENTIAL_SCOPES.filter((s) => s.includes(':'))));

    // A scope the client was not approved for is invalid_scope.
    await assert.rejects(
        oidc.clientCredentialsGrant(config, { scope: 'scenarios:write' }),
        (error) => error instanceof oidc.ResponseBodyError && error.error === 'invalid_scope',
    );
});

test('client_credentials: refused for a public client', TEST_OPTIONS, async () => {
    const config = await configFor('public', 'none');
    await assert.rejects(
        oidc.clientCredentialsGrant(config),
        (error) => error instanceof oidc.ResponseBodyError && ['unauthorized_client', 'invalid_client'].includes(error.error),
    );
});

// ---------------------------------------------------------------------------------------------------------
// Consent

test('consent denial: error=access_denied with state and iss goes back to the redirect URI', TEST_OPTIONS, async () => {
    const config = await configFor('deny');
    const prepared = await prepareAuthorization(config, { redirectUri: CONFIDENTIAL_REDIRECT, scope: FLOW_SCOPE });
    const run = await runAuthorization(prepared.url, {
        redirectUri: CONFIDENTIAL_REDIRECT,
        email: admin.email,
        password: admin.password,
        organizationId: admin.organizationId,
        decision: 'deny',
    });
    assert.deepEqual(run.pages, ['login', 'consent']);
    const url = run.callbackUrl;
    assert.equal(`${url.origin}${url.pathname}`, CONFIDENTIAL_REDIRECT);
    assert.equal(url.searchParams.get('error'), 'access_denied');
    assert.equal(url.searchParams.get('state'), prepared.state);
    assert.equal(url.searchParams.get('iss'), issuer);
    assert.equal(url.searchParams.get('code'), null, 'a denial carries no code');

    // openid-client turns it into an AuthorizationResponseError (after checking iss and state).
    await assert.rejects(
        oidc.authorizationCodeGrant(config, url, { pkceCodeVerifier: prepared.codeVerifier, expectedState: prepared.state, expectedNonce: prepared.nonce }),
        (error) => error instanceof oidc.AuthorizationResponseError && error.error === 'access_denied',
    );

    // A denial is not remembered as consent: the next request shows the consent page again.
    const next = await authorize(config, {
        redirectUri: CONFIDENTIAL_REDIRECT,
        scope: FLOW_SCOPE,
        email: admin.email,
        password: admin.password,
        organizationId: admin.organizationId,
        jar: run.jar,
    });
    assert.deepEqual(next.pages, ['consent'], 'the session is kept, the consent is asked again');
    assertSuccessCallback(next, CONFIDENTIAL_REDIRECT);
});

test('consent is remembered: the same browser is sent straight back with a code', TEST_OPTIONS, async () => {
    const config = await configFor('remembered');
    const first = await adminFlow(config);
    assert.deepEqual(first.pages, ['login', 'consent']);
    const second = await adminFlow(config, { jar: first.jar });
    assert.deepEqual(second.pages, [], 'neither the login nor the consent page is shown again');
    assertSuccessCallback(second, CONFIDENTIAL_REDIRECT);
    assert.equal(second.tokens.claims().sub, first.tokens.claims().sub);

    // prompt=consent asks again; new scopes ask again.
    const prompted = await adminFlow(config, { jar: first.jar, extra: { prompt: 'consent' } });
    assert.deepEqual(prompted.pages, ['consent']);
    const wider = await adminFlow(config, { jar: first.jar, scope: `${FLOW_SCOPE} teams:read` });
    assert.deepEqual(wider.pages, ['consent'], 'a scope not consented to yet brings the consent page back');
});

test('a redirect URI that differs by one character is never redirected to', TEST_OPTIONS, async () => {
    const config = await configFor('deny');
    const { url } = await prepareAuthorization(config, { redirectUri: `${CONFIDENTIAL_REDIRECT}x`, scope: FLOW_SCOPE });
    const res = await fetch(url, { redirect: 'manual' });
    const body = await res.text();
    assert.equal(res.headers.get('location'), null, `redirected to ${res.headers.get('location')}`);
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.doesNotMatch(body, /<form/i, 'the error page offers no form to go on');
});

test('prompt=none: login_required without a session; a code at once with a session and remembered consent', TEST_OPTIONS, async () => {
    const config = await configFor('prompt');
    const anonymous = await prepareAuthorization(config, {
        redirectUri: CONFIDENTIAL_REDIRECT,
        scope: FLOW_SCOPE,
        extra: { prompt: 'none' },
    });
    const run = await runAuthorization(anonymous.url, { redirectUri: CONFIDENTIAL_REDIRECT });
    assert.deepEqual(run.pages, [], 'prompt=none shows no page');
    assert.equal(run.callbackUrl.searchParams.get('error'), 'login_required');
    assert.equal(run.callbackUrl.searchParams.get('state'), anonymous.state);
    assert.equal(run.callbackUrl.searchParams.get('iss'), issuer);
    await assert.rejects(
        oidc.authorizationCodeGrant(config, run.callbackUrl, { pkceCodeVerifier: anonymous.codeVerifier, expectedState: anonymous.state }),
        (error) => error instanceof oidc.AuthorizationResponseError && error.error === 'login_required',
    );

    // Signed in, consent given once: prompt=none now yields a code without any page.
    const first = await adminFlow(config);
    const silent = await adminFlow(config, { jar: first.jar, extra: { prompt: 'none' } });
    assert.deepEqual(silent.pages, []);
    assertSuccessCallback(silent, CONFIDENTIAL_REDIRECT);
    assert.equal(silent.tokens.claims().sub, first.tokens.claims().sub);

    // New scopes cannot be consented to silently: consent_required.
    const wider = await prepareAuthorization(config, {
        redirectUri: CONFIDENTIAL_REDIRECT,
        scope: `${FLOW_SCOPE} teams:read`,
        extra: { prompt: 'none' },
    });
    const widerRun = await runAuthorization(wider.url, { redirectUri: CONFIDENTIAL_REDIRECT, jar: first.jar });
    assert.equal(widerRun.callbackUrl.searchParams.get('error'), 'consent_required');
    assert.equal(widerRun.callbackUrl.searchParams.get('state'), wider.state);
});

test('max_age: openid-client checks auth_time against it', TEST_OPTIONS, async () => {
    const config = await configFor('prompt');
    const flow = await authorize(config, {
        redirectUri: CONFIDENTIAL_REDIRECT,
        scope: FLOW_SCOPE,
        email: admin.email,
        password: admin.password,
        organizationId: admin.organizationId,
        extra: { max_age: '600' },
    });
    // With maxAge, openid-client requires auth_time and refuses a login older than max_age.
    const tokens = await oidc.authorizationCodeGrant(config, flow.callbackUrl, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        maxAge: 600,
    });
    const { auth_time: authTime } = tokens.claims();
    assert.ok(Number.isInteger(authTime) && Date.now() / 1000 - authTime < 600, `auth_time ${authTime}`);
});

test('revoking the authorized app (Make\'s API access section) ends its access and refresh tokens at once', TEST_OPTIONS, async () => {
    const config = await configFor('app');
    const { tokens } = await adminFlow(config);
    const oauthMake = sdk(tokens.access_token);
    assert.equal((await oauthMake.users.me()).id, admin.userId);

    const adminMake = sdk(admin.token); // the user's own API token, as in Make's profile page
    const listed = await adminMake.fetch('/users/me/authorized-apps');
    const app = listed.authorizedApps.find((a) => a.clientId === clients.app.client_id);
    assert.ok(app, `the grant is not listed: ${JSON.stringify(listed)}`);
    assert.equal(app.organizationId, admin.organizationId, 'the organization chosen at consent');
    for (const scope of FLOW_API_SCOPES) assert.ok(app.scope.includes(scope), `listed scope ${app.scope}`);

    const deleted = await adminMake.fetch(`/users/me/authorized-apps/${encodeURIComponent(clients.app.client_id)}`, { method: 'DELETE' });
    assert.deepEqual(deleted, { authorizedApp: clients.app.client_id });

    await rejectsMake(oauthMake.users.me(), 401);
    assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false);
    assert.equal((await oidc.tokenIntrospection(config, tokens.refresh_token)).active, false);
    await assert.rejects(
        oidc.refreshTokenGrant(config, tokens.refresh_token),
        (error) => error instanceof oidc.ResponseBodyError && error.error === 'invalid_grant',
    );
    const after = await adminMake.fetch('/users/me/authorized-apps');
    assert.ok(!after.authorizedApps.some((a) => a.clientId === clients.app.client_id), 'still listed after revocation');
    // The user's API token is untouched.
    assert.equal((await adminMake.users.me()).id, admin.userId);
});

test('comma-separated scopes (as Make accepts) are granted like space-separated ones', TEST_OPTIONS, async () => {
    const config = await configFor('comma');
    const { tokens } = await adminFlow(config, { scope: 'openid,user:read,organizations:read' });
    assert.equal(typeof tokens.id_token, 'string', 'openid, given in a comma list, was granted');
    const scope = decodeJwt(tokens.access_token).payload.scope.split(' ');
    for (const s of FLOW_API_SCOPES) assert.ok(scope.includes(s), `granted ${scope}`);
});

// ---------------------------------------------------------------------------------------------------------
// The official Make SDK with an OAuth access token

test('@makehq/sdk with an OAuth access token: users.me() and currentAuthorization() (authUsed "oauth")', TEST_OPTIONS, async () => {
    const config = await configFor('sdk');
    const { tokens } = await adminFlow(config);
    const make = sdk(tokens.access_token);

    const seen = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (url, init) => {
        seen.push(new Headers(init?.headers).get('authorization'));
        return realFetch(url, init);
    };
    let me;
    let authorization;
    try {
        me = await make.users.me();
        authorization = await make.users.currentAuthorization();
    } finally {
        globalThis.fetch = realFetch;
    }
    assert.deepEqual(seen, [`Bearer ${tokens.access_token}`, `Bearer ${tokens.access_token}`], 'the SDK sends the Bearer scheme');
    assert.equal(me.id, admin.userId);
    assert.equal(me.email, admin.email);

    assert.equal(authorization.authUsed, 'oauth');
    assert.ok(Array.isArray(authorization.scope), `scope: ${JSON.stringify(authorization.scope)}`);
    const apiScopes = authorization.scope.filter((s) => s.includes(':'));
    assert.deepEqual(sorted(apiScopes), FLOW_API_SCOPES, 'the granted API scopes, and no more');

    // The grant's organization works; a scope that was not granted does not.
    const org = await make.organizations.get(admin.organizationId);
    assert.equal(org.id, admin.organizationId);
    await rejectsMake(make.teams.list(admin.organizationId), 401, /teams:read/);
    // The grant is limited to the organization chosen at consent.
    await assert.rejects(make.organizations.get(secondOrgId), (error) => {
        assert.ok(error instanceof MakeError, `expected MakeError, got ${error}`);
        assert.ok([401, 403, 404].includes(error.statusCode), `status ${error.statusCode}`);
        return true;
    });
});
