// The browser side of the console tests: Debian's Chromium driven by playwright-core (no downloaded
// browser), and the few steps every scenario shares (sign in, add a token through the form).
//
// Every context is watched: console errors, uncaught page errors, every URL the browser requested or
// navigated to, and every HTML document the server answered (for the CSP and Cache-Control checks).
// `assertCleanBrowsing()` turns what was seen into assertions at the end of a test.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export const SCREENSHOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');

// As root, Chromium needs --no-sandbox; the rest keep a test run off the network and quiet
// (../../shared/reference/real-clients.md).
const CHROMIUM_ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-default-apps',
    '--disable-sync',
];

// The console's Content-Security-Policy, directive by directive (console-contract.md).
const CONSOLE_POLICY = [
    "default-src 'none'",
    "style-src 'self'",
    "script-src 'self'",
    "img-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
];

/**
 * A headless Chromium. Playwright gives every launch a fresh temporary user-data directory (and removes it
 * on close); every context in it starts with no cookies or storage.
 */
export function launchBrowser() {
    return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * A new context and page against `gh` (a server from startGatehouse()), with its watcher:
 * {context, page, seen: {consoleErrors, pageErrors, urls, documents}}.
 */
export async function openSession(browser, gh, { permissions = [] } = {}) {
    const origin = `http://127.0.0.1:${gh.port}`;
    const context = await browser.newContext({
        viewport: { width: 1280, height: 860 },
        permissions,
        locale: 'en-GB',
        timezoneId: 'UTC',
    });
    context.setDefaultTimeout(10_000);
    context.setDefaultNavigationTimeout(15_000);
    const seen = { consoleErrors: [], pageErrors: [], urls: [], documents: [], pending: [] };
    const page = await context.newPage();
    page.on('console', (message) => {
        // Chromium reports CSP violations as console errors ("Refused to load …").
        if (message.type() !== 'error') return;
        // Chromium asks for /favicon.ico by itself; that is the browser's request, not the page's.
        const source = message.location()?.url ?? '';
        if (new URL(source, origin).pathname === '/favicon.ico' && source.startsWith(origin)) return;
        seen.consoleErrors.push(`${message.text()} (at ${page.url()})`);
    });
    page.on('pageerror', (error) => seen.pageErrors.push(`${error.message} (at ${page.url()})`));
    page.on('request', (request) => seen.urls.push(request.url()));
    page.on('framenavigated', (frame) => {
        if (frame === page.mainFrame()) seen.urls.push(frame.url());
    });
    page.on('response', (response) => {
        const request = response.request();
        if (request.resourceType() !== 'document' || !response.url().startsWith(origin)) return;
        if (response.status() >= 300 && response.status() < 400) return;
        const headers = response.allHeaders().then((all) => {
            seen.documents.push({ url: response.url(), status: response.status(), headers: all });
        });
        seen.pending.push(headers.catch(() => {}));
    });
    return { context, page, seen, origin };
}

/**
 * What every test checks about its browsing, at its end:
 * - no uncaught page error and no console error (a CSP violation is one), apart from Chromium's own
 *   "Failed to load resource" line for a document answered with one of `expectedStatuses` (a 401 for a wrong
 *   password is the contract, and Chromium logs it);
 * - every HTML page of the server carried a Content-Security-Policy with `default-src 'none'` and
 *   `frame-ancestors 'none'`, and every console page (all but /oauth/…) the console's whole policy and
 *   `Cache-Control: no-store`;
 * - none of `secrets` ever appeared in a URL the browser requested or showed.
 */
export async function assertCleanBrowsing(session, { secrets = [], expectedStatuses = [] } = {}) {
    const { seen } = session;
    await Promise.all(seen.pending);
    const expected = new RegExp(`^Failed to load resource: the server responded with a status of (${expectedStatuses.join('|') || 'none'})\\b`);
    const errors = seen.consoleErrors.filter((text) => !expected.test(text));
    assert.deepEqual(seen.pageErrors, [], 'uncaught errors in the page');
    assert.deepEqual(errors, [], 'console errors (CSP violations among them)');

    assert.ok(seen.documents.length > 0, 'the test saw at least one page of the server');
    for (const { url, status, headers } of seen.documents) {
        if (!(headers['content-type'] ?? '').startsWith('text/html')) continue;
        const policy = headers['content-security-policy'];
        assert.ok(policy, `${url} (${status}) has a Content-Security-Policy`);
        assert.ok(!/unsafe/.test(policy), `${url}: no 'unsafe-…' in the policy: ${policy}`);
        for (const directive of ["default-src 'none'", "frame-ancestors 'none'"]) {
            assert.ok(directiveList(policy).includes(directive), `${url}: policy has ${directive}: ${policy}`);
        }
        if (!new URL(url).pathname.startsWith('/oauth/')) {
            for (const directive of CONSOLE_POLICY) {
                assert.ok(directiveList(policy).includes(directive), `${url}: console policy has ${directive}: ${policy}`);
            }
            assert.match(headers['cache-control'] ?? '', /no-store/, `${url}: Cache-Control: no-store`);
        }
    }

    for (const secret of secrets.filter(Boolean)) {
        const spellings = [secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)];
        const leaked = seen.urls.filter((url) => spellings.some((spelling) => url.includes(spelling)));
        assert.deepEqual(leaked, [], 'a secret appeared in a URL');
    }
}

function directiveList(policy) {
    return policy.split(';').map((directive) => directive.trim().replace(/\s+/g, ' '));
}

/**
 * A waitForURL() matcher for a path, whatever the query: after a POST the console may carry which notice to
 * show in the query of the page it redirects to (e.g. `/user/api?done=deleted`).
 */
export function atPath(path) {
    return (url) => url.pathname === path;
}

/** A full-page PNG in tests/browser/screenshots/NAME.png, for a person to look at. */
export async function screenshot(page, name) {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** Fills and submits the console's login form (the page must be on it); resolves to the response. */
export async function submitLogin(page, { email, password }) {
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    const [response] = await Promise.all([
        page.waitForNavigation(),
        page.getByRole('button', { name: 'Sign in', exact: true }).click(),
    ]);
    return response;
}

/** Signs in through /login?next=PATH and checks that it lands on PATH. */
export async function signIn(session, user, next = '/user/api') {
    const { page, origin } = session;
    await page.goto(`${origin}/login?next=${encodeURIComponent(next)}`);
    await submitLogin(page, user);
    assert.equal(new URL(page.url()).pathname, next, `signed in as ${user.email}, the browser is on ${next}`);
}

export async function signOut(session) {
    const { page } = session;
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign out', exact: true }).click()]);
    assert.equal(new URL(page.url()).pathname, '/login', 'signing out lands on /login');
}

/**
 * Adds a token through /user/api → "Add token" → the form → Save, and reads it from #new-token.
 * `screenshots` names the shots of the form and of the page that shows the token (or null for none).
 */
export async function addTokenThroughForm(session, { label, scopes }, screenshots = null) {
    const { page, origin } = session;
    if (new URL(page.url()).pathname !== '/user/api') await page.goto(`${origin}/user/api`);
    await Promise.all([page.waitForURL(atPath('/user/api/new')), page.getByRole('link', { name: 'Add token', exact: true }).click()]);
    await page.getByLabel('Label', { exact: true }).fill(label);
    for (const scope of scopes) await page.locator(`input[type="checkbox"][name="scopes"][value="${scope}"]`).check();
    if (screenshots) await screenshot(page, screenshots.form);
    await Promise.all([page.waitForURL(atPath('/user/api')), page.getByRole('button', { name: 'Save', exact: true }).click()]);
    const token = (await page.locator('#new-token').textContent())?.trim();
    assert.match(token ?? '', UUID_RE, '#new-token holds a UUID token');
    await assertVisibleText(page, 'Copy it now: you will not see it again.');
    if (screenshots) await screenshot(page, screenshots.shown);
    return token;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function assertVisibleText(page, text) {
    assert.ok(await page.getByText(text, { exact: false }).first().isVisible(), `the page shows "${text}"`);
}

/** The text of the page's success notice (`<p class="notice" role="status">`). */
export async function notice(page) {
    const locator = page.locator('p.notice[role="status"]');
    assert.ok(await locator.first().isVisible(), `a success notice on ${page.url()}`);
    return (await locator.first().textContent()).trim();
}

/** The text of the page's error message (`<p class="alert" role="alert">`). */
export async function alertText(page) {
    const locator = page.locator('p.alert[role="alert"]');
    assert.ok(await locator.first().isVisible(), `an error message on ${page.url()}`);
    return (await locator.first().textContent()).trim();
}

/** GET `path` of the API with `Authorization: <authorization>`: {status, body}. */
export async function api(gh, path, authorization) {
    const response = await fetch(`http://127.0.0.1:${gh.port}${path}`, { headers: { Authorization: authorization } });
    const text = await response.text();
    let body;
    try {
        body = JSON.parse(text);
    } catch {
        body = text;
    }
    return { status: response.status, body };
}

/**
 * The `tag` inside `scope` whose visible text is exactly `text`. For controls in table rows, whose accessible
 * name may add the row's subject ("Delete my token") to the visible word.
 */
export function byText(scope, tag, text) {
    const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return scope.locator(tag).filter({ hasText: new RegExp(`^\\s*${escaped}\\s*$`) });
}

/** A PKCE pair (RFC 7636, S256). */
export function pkcePair() {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    return { verifier, challenge };
}

/**
 * A user who is not an administrator, made with the real CLI on the server's database and added to the
 * first-start organization as a member (so that consent has an organization to pick).
 */
export async function createMember(gh, { email, name, password }) {
    await gh.cli(['user', 'create', '--email', email, '--name', name], { input: `${password}\n` });
    await gh.cli(['member', 'add', '--org', String(gh.admin.organizationId), '--user', email, '--role', 'member']);
    return { email, name, password };
}
