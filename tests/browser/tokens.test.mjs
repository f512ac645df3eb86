// The console's API access page (/user/api), Make's page for tokens, in a real browser: sign in, add a
// token with two scopes and use it, reload and see it gone, delete it, and do it all by keyboard alone.
// Each test starts its own server; the first-start administrator is the person at the browser.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
    addTokenThroughForm,
    alertText,
    api,
    assertCleanBrowsing,
    atPath,
    byText,
    createMember,
    notice,
    openSession,
    screenshot,
    signIn,
    signOut,
    submitLogin,
    UUID_RE,
} from './lib/console.mjs';
import { TEST_OPTIONS, withWorld } from './lib/fixture.mjs';

const TWO_SCOPES = ['organizations:read', 'teams:read'];

/** The scopes the API says a token was given, sorted. */
async function scopesOf(gh, token) {
    const { status, body } = await api(gh, '/api/v2/users/me/current-authorization', `Token ${token}`);
    assert.equal(status, 200, `current-authorization accepts the token: ${JSON.stringify(body)}`);
    return [...body.authorization.scope].sort();
}

test('1. signing in at /user/api: to /login?next=/user/api and back; a wrong password refused; signing out', TEST_OPTIONS, async () => {
    await withWorld({}, async ({ gh, browser }) => {
        const session = await openSession(browser, gh);
        const { page, origin } = session;

        await page.goto(`${origin}/`);
        assert.equal(new URL(page.url()).pathname, '/login', '/ sends a visitor to /login');

        await page.goto(`${origin}/user/api`);
        const loginUrl = new URL(page.url());
        assert.equal(loginUrl.pathname, '/login');
        assert.equal(loginUrl.searchParams.get('next'), '/user/api');
        assert.equal(await page.locator('h1').count(), 1, 'the login page has one h1');
        await screenshot(page, '01-login');

        const refused = await submitLogin(page, { email: gh.admin.email, password: `${gh.admin.password}-wrong` });
        assert.equal(refused.status(), 401, 'a wrong password is a 401');
        assert.ok((await alertText(page)).length > 0, 'the form says why');
        assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '', 'the password is not echoed back');
        await screenshot(page, '01-login-refused');

        const signedIn = await submitLogin(page, gh.admin);
        assert.equal(new URL(page.url()).pathname, '/user/api', 'back at /user/api after signing in');
        assert.equal(signedIn.status(), 200);
        assert.equal((await page.locator('main h1').textContent()).trim().length > 0, true, 'the page names itself');
        const nav = page.getByRole('navigation', { name: 'Console' });
        for (const [name, href] of [
            ['API access', '/user/api'],
            ['Profile', '/user/profile'],
            ['Password', '/user/password'],
            ['Authorized apps', '/user/apps'],
            ['OAuth apps', '/developer/apps'],
            ['Administration', '/admin'],
        ]) {
            assert.equal(await nav.getByRole('link', { name, exact: true }).getAttribute('href'), href, `nav link ${name}`);
        }
        // The first-start administrator has the token printed at first start, listed masked.
        assert.equal(await page.locator('#api-tokens').count(), 1, 'the token table');
        await screenshot(page, '02-token-list');
        await page.goto(`${origin}/`);
        assert.equal(new URL(page.url()).pathname, '/user/api', '/ sends a signed-in user to /user/api');

        await signOut(session);
        await page.goto(`${origin}/user/api`);
        assert.equal(new URL(page.url()).pathname, '/login', 'signed out: /user/api asks to sign in again');

        await assertCleanBrowsing(session, { secrets: [gh.admin.password, gh.admin.token], expectedStatuses: [401] });
    });
});

test('1b. the profile page changes what GET /api/v2/users/me shows', TEST_OPTIONS, async () => {
    await withWorld({}, async ({ gh, browser }) => {
        const session = await openSession(browser, gh);
        const { page, origin } = session;
        await signIn(session, gh.admin);
        await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Profile', exact: true }).click();
        await page.waitForURL(atPath('/user/profile'));
        await page.getByLabel('Name', { exact: true }).fill('Ada Console');
        await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Save', exact: true }).click()]);
        await notice(page);
        await screenshot(page, '10-profile');
        const me = await api(gh, '/api/v2/users/me', `Token ${gh.admin.token}`);
        assert.equal(me.body.authUser.name, 'Ada Console', 'the profile page changed the name the API shows');
        await assertCleanBrowsing(session, { secrets: [gh.admin.password, gh.admin.token] });
    });
});

test('1c. without an SMTP server, "Forgot your password?" offers no form and says to ask an administrator', TEST_OPTIONS, async () => {
    await withWorld({}, async ({ gh, browser }) => {
        const session = await openSession(browser, gh);
        const { page, origin } = session;
        await page.goto(`${origin}/forgot-password`);
        assert.equal(await page.locator('form input[name="email"]').count(), 0, 'no reset form without SMTP');
        assert.match(await page.locator('main').textContent(), /administrator/i, 'the page says whom to ask');
        await screenshot(page, '08-forgot-password-no-smtp');
        await assertCleanBrowsing(session);
    });
});

test('1d. changing the password on /user/password ends the other browser\'s session', TEST_OPTIONS, async () => {
    await withWorld({}, async ({ gh, browser }) => {
        const person = await createMember(gh, { email: 'mover@browser.test', name: 'Mo Ver', password: 'first password 1d' });
        const here = await openSession(browser, gh);
        const elsewhere = await openSession(browser, gh);
        await signIn(here, person, '/user/password');
        await signIn(elsewhere, person, '/user/api');
        const { page } = here;
        const newPassword = 'second password 1d';
        await page.getByLabel('Current password', { exact: true }).fill(person.password);
        await page.getByLabel('New password', { exact: true }).fill(newPassword);
        await page.getByLabel('Repeat the new password', { exact: true }).fill(newPassword);
        await screenshot(page, '11-password');
        await Promise.all([
            page.waitForNavigation(),
            page.getByRole('button', { name: 'Change password', exact: true }).click(),
        ]);
        await notice(page);

        await elsewhere.page.reload();
        assert.equal(new URL(elsewhere.page.url()).pathname, '/login', 'the other session is over');
        await submitLogin(elsewhere.page, person);
        assert.equal(new URL(elsewhere.page.url()).pathname, '/login', 'the old password no longer signs in');
        await submitLogin(elsewhere.page, { email: person.email, password: newPassword });
        assert.equal(new URL(elsewhere.page.url()).pathname, '/user/api', 'the new one does');

        for (const session of [here, elsewhere]) {
            await assertCleanBrowsing(session, { secrets: [person.password, newPassword], expectedStatuses: [401] });
        }
    });
});

test('1e. deleting one\'s own account from the profile: every session, token and password ends', TEST_OPTIONS, async () => {
    await withWorld({}, async ({ gh, browser }) => {
        const person = await createMember(gh, { email: 'leaving@browser.test', name: 'Lea Ving', password: 'leaving password 1e' });
        const here = await openSession(browser, gh);
        const elsewhere = await openSession(browser, gh);
        await signIn(here, person);
        await signIn(elsewhere, person);
        const token = await addTokenThroughForm(here, { label: 'dies with the account', scopes: ['user:read'] });
        assert.equal((await api(gh, '/api/v2/users/me', `Token ${token}`)).status, 200);

        const { page, origin } = here;
        await page.goto(`${origin}/user/profile`);
        await Promise.all([page.waitForURL(atPath('/user/delete')), page.getByRole('link', { name: /^Delete my account/ }).click()]);
        await screenshot(page, '10-delete-account-confirmation');
        await Promise.all([
            page.waitForURL(atPath('/login')),
            page.getByRole('button', { name: 'Delete my account', exact: true }).click(),
        ]);
        await notice(page);

        assert.equal((await api(gh, '/api/v2/users/me', `Token ${token}`)).status, 401, 'the token dies with the account');
        await elsewhere.page.reload();
        assert.equal(new URL(elsewhere.page.url()).pathname, '/login', 'the other session is over');
        const refused = await submitLogin(elsewhere.page, person);
        assert.equal(refused.status(), 401, 'the password no longer signs in');

        for (const session of [here, elsewhere]) {
            await assertCleanBrowsing(session, { secrets: [person.password, token], expectedStatuses: [401] });
        }
    });
});

test('2. a token with two scopes made through the form works with exactly those scopes', TEST_OPTIONS, async () => {
    await withWorld({}, async ({ gh, browser }) => {
        const session = await openSession(browser, gh);
        await signIn(session, gh.admin);
        const token = await addTokenThroughForm(session, { label: 'browser two scopes', scopes: TWO_SCOPES }, {
            form: '03-add-token-form',
            shown: '04-new-token-shown',
        });
        const copy = session.page.locator('button.copy[data-copy="new-token"]');
        assert.equal(await copy.count(), 1, 'a copy button for the new token');
        assert.deepEqual(await scopesOf(gh, token), [...TWO_SCOPES].sort());
        await assertCleanBrowsing(session, { secrets: [gh.admin.password, gh.admin.token, token] });
    });
});

test('2b. invalid input (no scope) is a 400 with the form and an error', TEST_OPTIONS, async () => {
    await withWorld({}, async ({ gh, browser }) => {
        const session = await openSession(browser, gh);
        const { page, origin } = session;
        await signIn(session, gh.admin);
        await page.goto(`${origin}/user/api/new`);
        await page.getByLabel('Label', { exact: true }).fill('no scopes');
        const [response] = await Promise.all([
            page.waitForNavigation(),
            page.getByRole('button', { name: 'Save', exact: true }).click(),
        ]);
        assert.equal(response.status(), 400);
        assert.ok((await alertText(page)).length > 0);
        assert.equal(await page.getByLabel('Label', { exact: true }).count(), 1, 'the form is shown again');
        await assertCleanBrowsing(session, { secrets: [gh.admin.password, gh.admin.token], expectedStatuses: [400] });
    });
});

test('3. reload: the token value is gone, the list shows it masked', TEST_OPTIONS, async () => {
    await withWorld({}, async ({ gh, browser }) => {
        const session = await openSession(browser, gh);
        const { page } = session;
        await signIn(session, gh.admin);
        const label = 'shown once';
        const token = await addTokenThroughForm(session, { label, scopes: TWO_SCOPES });
        assert.ok((await page.content()).includes(token), 'the first view shows the token');

        await page.reload();
        assert.equal(new URL(page.url()).pathname, '/user/api');
        assert.equal(await page.locator('#new-token').count(), 0, 'no #new-token after a reload');
        assert.ok(!(await page.content()).includes(token), 'the token value is nowhere in the page');
        const row = page.locator(`#api-tokens tr[data-label="${label}"]`);
        assert.equal(await row.count(), 1, 'the list has the token');
        const masked = `${token.slice(0, 8)}-****-****-****-************`;
        assert.ok((await row.textContent()).includes(masked), `the row shows ${masked}`);
        await screenshot(page, '05-token-list-after-reload');

        // Back and forward do not bring it back either (Cache-Control: no-store).
        await page.goBack();
        await page.goForward();
        assert.ok(!(await page.content()).includes(token), 'history navigation does not show it again');
        await assertCleanBrowsing(session, { secrets: [gh.admin.password, gh.admin.token, token] });
    });
});

test('3b. on a 1280 px wide window the token list shows every column, Delete included, without sideways scrolling', TEST_OPTIONS, async () => {
    await withWorld({}, async ({ gh, browser }) => {
        const session = await openSession(browser, gh);
        const { page } = session;
        await signIn(session, gh.admin);
        await addTokenThroughForm(session, { label: 'a typical label', scopes: TWO_SCOPES });
        await page.reload();
        const table = page.locator('#api-tokens');
        const overflow = await table.evaluate((element) => {
            const wrapper = element.parentElement;
            return { table: element.scrollWidth, wrapper: wrapper.clientWidth, window: document.documentElement.clientWidth };
        });
        assert.ok(overflow.table <= overflow.wrapper, `the table (${overflow.table} px) fits its box (${overflow.wrapper} px)`);
        const deleteLink = byText(table.locator('tr[data-label="a typical label"]'), 'a', 'Delete');
        const box = await deleteLink.boundingBox();
        assert.ok(box && box.x + box.width <= overflow.window, 'the Delete link is in view');
        await assertCleanBrowsing(session, { secrets: [gh.admin.password, gh.admin.token] });
    });
});

test('4. deleting the token from the page, with the confirmation: the API refuses it', TEST_OPTIONS, async () => {
    await withWorld({}, async ({ gh, browser }) => {
        const session = await openSession(browser, gh);
        const { page, origin } = session;
        await signIn(session, gh.admin);
        const label = 'to be deleted';
        const token = await addTokenThroughForm(session, { label, scopes: TWO_SCOPES });
        assert.equal((await api(gh, '/api/v2/users/me', `Token ${token}`)).status, 200, 'the token works first');

        const row = page.locator(`#api-tokens tr[data-label="${label}"]`);
        const link = byText(row, 'a', 'Delete');
        assert.match(await link.getAttribute('href'), /^\/user\/api\/tokens\/[^/]+\/delete$/);
        await Promise.all([page.waitForURL(/\/user\/api\/tokens\/[^/]+\/delete$/), link.click()]);
        await page.getByText(`Delete the token ${label}?`).waitFor();
        await screenshot(page, '06-delete-confirmation');
        await Promise.all([
            page.waitForURL(atPath('/user/api')),
            page.getByRole('button', { name: 'Delete token', exact: true }).click(),
        ]);
        await notice(page);
        assert.equal(await page.locator(`#api-tokens tr[data-label="${label}"]`).count(), 0, 'the row is gone');

        const refused = await api(gh, '/api/v2/users/me', `Token ${token}`);
        assert.equal(refused.status, 401, `the deleted token is refused: ${JSON.stringify(refused.body)}`);
        await assertCleanBrowsing(session, { secrets: [gh.admin.password, gh.admin.token, token] });
    });
});

// ---------------------------------------------------------------------------------------------------------
// 7. Keyboard alone

/** What the focused element is, and whether it shows a focus indicator (an outline or a box-shadow). */
function describeFocus(page) {
    return page.evaluate(() => {
        const element = document.activeElement;
        if (!element || element === document.body) return { tag: 'BODY' };
        const style = getComputedStyle(element);
        const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
        const shadowed = style.boxShadow !== 'none' && style.boxShadow !== '';
        return {
            tag: element.tagName,
            id: element.id,
            type: element.getAttribute('type'),
            name: element.getAttribute('name'),
            value: element.getAttribute('value'),
            className: element.className,
            text: (element.textContent ?? '').trim(),
            href: element.getAttribute('href'),
            checked: element.checked === true,
            indicator: outlined || shadowed,
            style: { outlineStyle: style.outlineStyle, outlineWidth: style.outlineWidth, boxShadow: style.boxShadow },
        };
    });
}

/** Presses Tab (or Shift+Tab) until `wanted(focus)`; every focused button and link must show its focus. */
async function tabUntil(page, wanted, what, { key = 'Tab', max = 200 } = {}) {
    const visited = [];
    for (let i = 0; i < max; i++) {
        await page.keyboard.press(key);
        const focus = await describeFocus(page);
        visited.push(`${focus.tag}${focus.id ? `#${focus.id}` : ''}${focus.text ? ` "${focus.text.slice(0, 30)}"` : ''}`);
        if (focus.tag === 'A' || focus.tag === 'BUTTON') {
            assert.ok(focus.indicator, `${visited.at(-1)} shows a focus indicator: ${JSON.stringify(focus.style)}`);
        }
        if (wanted(focus)) return focus;
    }
    assert.fail(`${what} never got the focus by ${key}; visited: ${visited.join(' → ')}`);
}

test('7. the token page by keyboard alone, with a visible focus on every button and link', TEST_OPTIONS, async () => {
    await withWorld({}, async ({ gh, browser }) => {
        const session = await openSession(browser, gh, { permissions: ['clipboard-read', 'clipboard-write'] });
        const { page, origin } = session;
        await signIn(session, gh.admin);
        // From here on, only the keyboard.
        const keyboard = page.keyboard;

        const add = await tabUntil(page, (f) => f.tag === 'A' && f.text === 'Add token', '"Add token"');
        assert.equal(add.href, '/user/api/new');
        await Promise.all([page.waitForURL(atPath('/user/api/new')), keyboard.press('Enter')]);

        await tabUntil(page, (f) => f.id === 'label', 'the Label field');
        await keyboard.type('typed by keyboard');

        const box = await tabUntil(page, (f) => f.type === 'checkbox' && f.name === 'scopes', 'a scope checkbox');
        assert.equal(box.checked, false);
        await keyboard.press('Space');
        const ticked = await describeFocus(page);
        assert.equal(ticked.checked, true, `Space ticks ${box.value}`);

        await tabUntil(page, (f) => f.tag === 'BUTTON' && f.text === 'Save', 'Save');
        // Shift+Tab leaves Save, Tab comes back to it.
        await keyboard.press('Shift+Tab');
        assert.notEqual((await describeFocus(page)).text, 'Save', 'Shift+Tab moves the focus back');
        await tabUntil(page, (f) => f.tag === 'BUTTON' && f.text === 'Save', 'Save again');
        await Promise.all([page.waitForURL(atPath('/user/api')), keyboard.press('Enter')]);

        const token = (await page.locator('#new-token').textContent()).trim();
        assert.match(token, UUID_RE);
        const copy = await tabUntil(page, (f) => f.tag === 'BUTTON' && f.className.split(/\s+/).includes('copy'), 'the copy button');
        assert.equal(copy.text.length > 0, true);
        await keyboard.press('Enter');
        // Read by CDP evaluation (not page-side eval, which the CSP rightly forbids), polling a moment.
        let copied = '';
        for (let i = 0; i < 50 && copied !== token; i++) {
            copied = (await page.evaluate(() => navigator.clipboard.readText())).trim();
            if (copied !== token) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.equal(copied, token, 'Enter on the copy button put the token on the clipboard');
        await screenshot(page, '07-keyboard-copy-focused');

        assert.deepEqual(await scopesOf(gh, token), [box.value], 'the token has the one scope ticked by Space');
        await assertCleanBrowsing(session, { secrets: [gh.admin.password, gh.admin.token, token] });
    });
});
