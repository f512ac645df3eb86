// The OAuth server's configurable behaviour, driven by openid-client (unchanged) and @makehq/sdk against the
// real binary started with non-default OAuth settings:
//   --refresh-grace 0s                     a reused refresh token is a replay at once (no grace window)
//   --public-client-refresh-tokens true    public clients get refresh tokens (Make's default: none)
//   --access-token-lifetime 120s           expires_in follows the setting
// The default behaviour (discovery, code + PKCE, ID tokens, userinfo, introspection, revocation,
// client_credentials) is covered by oidc.test.mjs; this file covers what needs these settings, plus code
// replay as a client would hit it.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import * as oidc from 'openid-client';
import { Make, MakeError } from '@makehq/sdk';

import { startGatehouse } from './lib/gatehouse.mjs';
import { authorize, codeFlow, createClient, decodeJwt, discover } from './lib/oauth.mjs';

const REDIRECT = 'http://127.0.0.1/oauth-settings/callback';
const SCOPES = ['openid', 'profile', 'email', 'user:read', 'organizations:read'];
const SCOPE = 'openid email user:read';
const LIFETIME = 120;
const OPTIONS = { timeout: 60_000 };

let gh;
let issuer;
const clients = {};

before(async () => {
    gh = await startGatehouse({
        args: ['--refresh-grace', '0s', '--public-client-refresh-tokens', 'true', '--access-token-lifetime', `${LIFETIME}s`],
    });
    issuer = `http://${gh.host}`;
    clients.confidential = await createClient(gh, { name: 'Settings RP', type: 'confidential', redirectUris: [REDIRECT], scopes: SCOPES });
    clients.public = await createClient(gh, { name: 'Settings SPA', type: 'public', redirectUris: [REDIRECT], scopes: SCOPES });
});

after(async () => {
    await gh?.stop();
});

function config(name) {
    const { client_id: id, client_secret: secret } = clients[name];
    return discover(issuer, id, secret ? oidc.ClientSecretPost(secret) : oidc.None());
}

function flow(cfg) {
    return codeFlow(cfg, {
        redirectUri: REDIRECT,
        scope: SCOPE,
        email: gh.admin.email,
        password: gh.admin.password,
        organizationId: gh.admin.organizationId,
    });
}

function sdk(accessToken) {
    const make = new Make(accessToken, gh.host);
    make.protocol = 'http';
    return make;
}

async function rejects401(promise) {
    await assert.rejects(promise, (error) => {
        assert.ok(error instanceof MakeError, `expected MakeError, got ${error?.constructor?.name}: ${error?.message}`);
        assert.equal(error.statusCode, 401);
        return true;
    });
}

async function rejectsOAuth(promise, code) {
    await assert.rejects(promise, (error) => {
        assert.equal(error.error, code, `${error.message}`);
        return true;
    });
}

test('expires_in follows --access-token-lifetime and matches exp - iat', OPTIONS, async () => {
    const { tokens } = await flow(await config('confidential'));
    assert.equal(tokens.expires_in, LIFETIME);
    const claims = decodeJwt(tokens.access_token).payload;
    assert.equal(claims.exp - claims.iat, LIFETIME);
    const me = await sdk(tokens.access_token).users.me();
    assert.equal(me.email, gh.admin.email);
});

test('a public client gets a rotating refresh token when the server allows it', OPTIONS, async () => {
    const cfg = await config('public');
    const { tokens } = await flow(cfg);
    assert.equal(typeof tokens.refresh_token, 'string');
    const next = await oidc.refreshTokenGrant(cfg, tokens.refresh_token);
    assert.notEqual(next.refresh_token, tokens.refresh_token);
    const authorization = await sdk(next.access_token).users.currentAuthorization();
    assert.equal(authorization.authUsed, 'oauth');
});

test('without a grace window, reusing a rotated refresh token revokes the whole family', OPTIONS, async () => {
    const cfg = await config('confidential');
    const { tokens } = await flow(cfg);
    const next = await oidc.refreshTokenGrant(cfg, tokens.refresh_token);
    await sdk(next.access_token).users.me();
    await rejectsOAuth(oidc.refreshTokenGrant(cfg, tokens.refresh_token), 'invalid_grant');
    await rejectsOAuth(oidc.refreshTokenGrant(cfg, next.refresh_token), 'invalid_grant');
    await rejects401(sdk(next.access_token).users.me());
});

test('a replayed authorization code is refused and the tokens issued from it stop working', OPTIONS, async () => {
    const cfg = await config('confidential');
    const run = await authorize(cfg, {
        redirectUri: REDIRECT,
        scope: SCOPE,
        email: gh.admin.email,
        password: gh.admin.password,
        organizationId: gh.admin.organizationId,
    });
    const tokens = await oidc.authorizationCodeGrant(cfg, run.callbackUrl, {
        pkceCodeVerifier: run.codeVerifier,
        expectedState: run.state,
        expectedNonce: run.nonce,
    });
    await sdk(tokens.access_token).users.me();
    await rejectsOAuth(
        oidc.authorizationCodeGrant(cfg, run.callbackUrl, {
            pkceCodeVerifier: run.codeVerifier,
            expectedState: run.state,
            expectedNonce: run.nonce,
        }),
        'invalid_grant',
    );
    await rejects401(sdk(tokens.access_token).users.me());
    await rejectsOAuth(oidc.refreshTokenGrant(cfg, tokens.refresh_token), 'invalid_grant');
});
