// An OAuth app's whole life through the console, in a real browser: a user requests it on
// /developer/apps/new, the administrator approves it on /admin/clients, the user rotates its secret, a
// third browser (no cookies) runs the authorization-code flow with PKCE through the login and consent
// pages, a local HTTP server receives the code, and revoking the app on /user/apps ends its tokens.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';

import {
    api,
    assertCleanBrowsing,
    atPath,
    byText,
    notice,
    openSession,
    pkcePair,
    screenshot,
    signIn,
    submitLogin,
    createMember,
} from './lib/console.mjs';
import { TEST_OPTIONS, withWorld } from './lib/fixture.mjs';

const APP_SCOPES = ['organizations:read', 'user:read'];

/** A tiny redirect-URI listener on loopback: resolves `nextCallback()` with each request's URL. */
async function startCallbackServer() {
    const waiting = [];
    const received = [];
    const server = createServer((request, response) => {
        const url = new URL(request.url, `http://${request.headers.host}`);
        received.push(url);
        waiting.shift()?.(url);
        response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        response.end('<!doctype html><title>Callback</title><p>The app received the answer.</p>');
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address();
    return {
        redirectUri: `http://127.0.0.1:${port}/callback`,
        nextCallback: () =>
            received.length > 0 ? Promise.resolve(received.shift()) : new Promise((resolve) => waiting.push(resolve)),
        stop: () => new Promise((resolve) => server.close(resolve)),
    };
}

async function tokenRequest(gh, form) {
    const response = await fetch(`http://127.0.0.1:${gh.port}/oauth/v2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form),
    });
    return { status: response.status, body: await response.json() };
}

test('5. request an OAuth app, approve it, authorize it in the browser, revoke it: its tokens are refused', TEST_OPTIONS, async () => {
    const callback = await startCallbackServer();
    try {
        await withWorld({}, async ({ gh, browser }) => {
            const developer = await createMember(gh, {
                email: 'dev@browser.test',
                name: 'Dev Eloper',
                password: 'correct horse battery staple 5',
            });

            // The developer requests the app.
            const user = await openSession(browser, gh);
            await signIn(user, developer, '/developer/apps');
            const { page: userPage, origin } = user;
            await screenshot(userPage, '12-oauth-apps-empty');
            await userPage.goto(`${origin}/developer/apps/new`);
            assert.equal(
                await userPage.locator('input[name="scopes"][value="admin:read"]').count(),
                0,
                'administration scopes are not offered to a user who is not an administrator',
            );
            await userPage.getByLabel('Name', { exact: true }).fill('Browser Test App');
            await userPage.getByLabel('Client type', { exact: true }).selectOption('confidential');
            await userPage.getByLabel('Redirect URIs', { exact: true }).fill(callback.redirectUri);
            for (const scope of APP_SCOPES) await userPage.locator(`input[name="scopes"][value="${scope}"]`).check();
            await userPage.getByLabel('Description', { exact: true }).fill('Made by the browser tests.');
            await screenshot(userPage, '13-oauth-app-request-form');
            await Promise.all([
                userPage.waitForURL(atPath('/developer/apps')),
                userPage.getByRole('button', { name: 'Request app', exact: true }).click(),
            ]);
            await notice(userPage);
            const requested = userPage.locator('#oauth-apps tr[data-client]', { hasText: 'Browser Test App' });
            assert.equal(await requested.count(), 1, 'the request is listed');
            const clientId = await requested.getAttribute('data-client');
            assert.ok(clientId, 'the row names its client id');
            assert.match(await requested.textContent(), /pending/i, 'the request is pending');

            // The administrator approves it.
            const admin = await openSession(browser, gh);
            await signIn(admin, gh.admin, '/admin/clients');
            const queued = admin.page.locator(`#client-requests tr[data-client="${clientId}"]`);
            assert.equal(await queued.count(), 1, 'the request is in the review queue');
            assert.ok((await queued.textContent()).includes(callback.redirectUri), 'the queue shows the redirect URI');
            await screenshot(admin.page, '14-admin-client-queue');
            await Promise.all([
                admin.page.waitForNavigation(),
                byText(queued, 'button', 'Approve').click(),
            ]);
            await notice(admin.page);

            // The developer gets a secret, shown once.
            await userPage.goto(`${origin}/developer/apps`);
            const approved = userPage.locator(`#oauth-apps tr[data-client="${clientId}"]`);
            assert.match(await approved.textContent(), /approved/i, 'the app is approved');
            await Promise.all([
                userPage.waitForNavigation(),
                byText(approved, 'button', 'Rotate secret').click(),
            ]);
            const secret = (await userPage.locator('#new-secret').textContent()).trim();
            assert.ok(secret.length >= 16, 'a client secret is shown');
            assert.equal(await userPage.locator('button.copy[data-copy="new-secret"]').count(), 1, 'with a copy button');
            await screenshot(userPage, '15-oauth-app-secret-shown');
            await userPage.reload();
            assert.ok(!(await userPage.content()).includes(secret), 'the secret is shown once');

            // A browser with no session runs the code flow with PKCE.
            const oauth = await openSession(browser, gh);
            const { verifier, challenge } = pkcePair();
            const state = `state-${Date.now()}`;
            const authorize = new URL(`${origin}/oauth/v2/authorize`);
            authorize.search = new URLSearchParams({
                response_type: 'code',
                client_id: clientId,
                redirect_uri: callback.redirectUri,
                scope: APP_SCOPES.join(' '),
                state,
                code_challenge: challenge,
                code_challenge_method: 'S256',
            }).toString();
            await oauth.page.goto(authorize.href);
            assert.equal(
                await oauth.page.locator('form[action="/oauth/v2/authorize/login"]').count(),
                1,
                'the OAuth login form',
            );
            await screenshot(oauth.page, '16-oauth-login');
            await submitLogin(oauth.page, developer);
            const organization = oauth.page.locator('select#organizationId[name="organizationId"]');
            await organization.selectOption(String(gh.admin.organizationId));
            await screenshot(oauth.page, '17-consent');
            const answer = callback.nextCallback();
            await oauth.page.locator('button[name="decision"][value="allow"]').click();
            const redirected = await answer;
            assert.equal(redirected.searchParams.get('state'), state);
            const code = redirected.searchParams.get('code');
            assert.ok(code, `the redirect carries a code: ${redirected.search}`);

            const exchanged = await tokenRequest(gh, {
                grant_type: 'authorization_code',
                code,
                redirect_uri: callback.redirectUri,
                client_id: clientId,
                client_secret: secret,
                code_verifier: verifier,
            });
            assert.equal(exchanged.status, 200, JSON.stringify(exchanged.body));
            const accessToken = exchanged.body.access_token;
            const refreshToken = exchanged.body.refresh_token;
            assert.ok(accessToken && refreshToken, 'an access token and a refresh token');
            const me = await api(gh, '/api/v2/users/me', `Bearer ${accessToken}`);
            assert.equal(me.status, 200, JSON.stringify(me.body));
            assert.equal(me.body.authUser.email, developer.email);

            // The developer revokes it on Authorized apps.
            await userPage.goto(`${origin}/user/apps`);
            const grant = userPage.locator(`#authorized-apps tr[data-client="${clientId}"]`);
            assert.equal(await grant.count(), 1, 'the grant is listed');
            assert.ok((await grant.textContent()).includes('Browser Test App'), 'by the app name');
            await screenshot(userPage, '18-authorized-apps');
            await Promise.all([
                userPage.waitForNavigation(),
                byText(grant, 'button', 'Revoke').click(),
            ]);
            await notice(userPage);
            assert.equal(await userPage.locator(`#authorized-apps tr[data-client="${clientId}"]`).count(), 0);

            const afterRevoke = await api(gh, '/api/v2/users/me', `Bearer ${accessToken}`);
            assert.equal(afterRevoke.status, 401, `the access token is refused: ${JSON.stringify(afterRevoke.body)}`);
            const refreshed = await tokenRequest(gh, {
                grant_type: 'refresh_token',
                refresh_token: refreshToken,
                client_id: clientId,
                client_secret: secret,
            });
            assert.equal(refreshed.status, 400, JSON.stringify(refreshed.body));
            assert.equal(refreshed.body.error, 'invalid_grant');

            const secrets = [developer.password, gh.admin.password, gh.admin.token, secret, accessToken, refreshToken];
            for (const session of [user, admin, oauth]) await assertCleanBrowsing(session, { secrets });
        });
    } finally {
        await callback.stop();
    }
});
