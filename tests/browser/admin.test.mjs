// Administration in the console, for platform administrators: users (create one who can then sign in) and
// organizations with their members. Someone who is not an administrator gets a 403 page.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertCleanBrowsing, createMember, notice, openSession, screenshot, signIn, submitLogin } from './lib/console.mjs';
import { TEST_OPTIONS, withWorld } from './lib/fixture.mjs';

test('8. an administrator creates a user on /admin/users who can then sign in; /admin is 403 for others', TEST_OPTIONS, async () => {
    await withWorld({}, async ({ gh, browser }) => {
        const admin = await openSession(browser, gh);
        await signIn(admin, gh.admin, '/admin/users');
        const { page, origin } = admin;
        const created = { name: 'Made In Console', email: 'made@browser.test', password: 'made in the console 8' };
        const form = page.locator('form').filter({ has: page.getByRole('button', { name: 'Create user', exact: true }) });
        await form.locator('[name="name"]').fill(created.name);
        await form.locator('[name="email"]').fill(created.email);
        await form.locator('[name="password"]').fill(created.password);
        await Promise.all([page.waitForNavigation(), form.getByRole('button', { name: 'Create user', exact: true }).click()]);
        await notice(page);
        assert.equal(await page.locator(`#users tr[data-email="${created.email}"]`).count(), 1, 'the new user is listed');
        await screenshot(page, '19-admin-users');

        await page.goto(`${origin}/admin/organizations`);
        assert.ok((await page.locator('main').textContent()).includes(gh.admin.email), 'the organization lists its owner');
        await screenshot(page, '20-admin-organizations');

        const newcomer = await openSession(browser, gh);
        await newcomer.page.goto(`${origin}/login`);
        await submitLogin(newcomer.page, created);
        assert.equal(new URL(newcomer.page.url()).pathname, '/user/api', 'the new user signs in');
        const forbidden = await newcomer.page.goto(`${origin}/admin/users`);
        assert.equal(forbidden.status(), 403, 'administration is for administrators');
        assert.equal(
            await newcomer.page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Administration' }).count(),
            0,
            'and not in their navigation',
        );

        await assertCleanBrowsing(admin, { secrets: [gh.admin.password, gh.admin.token, created.password] });
        await assertCleanBrowsing(newcomer, { secrets: [created.password], expectedStatuses: [403] });
    });
});

test('8b. a member\'s console: no administration scopes on the token form', TEST_OPTIONS, async () => {
    await withWorld({}, async ({ gh, browser }) => {
        const member = await createMember(gh, { email: 'plain@browser.test', name: 'Plain Member', password: 'plain member 8b' });
        const session = await openSession(browser, gh);
        await signIn(session, member, '/user/api/new');
        const offered = await session.page.locator('input[type="checkbox"][name="scopes"]').evaluateAll((boxes) => boxes.map((box) => box.value));
        assert.ok(offered.includes('user:read'), 'user scopes are offered');
        for (const scope of ['admin:read', 'admin:write', 'apps:read', 'apps:write', 'system:read', 'system:write']) {
            assert.ok(!offered.includes(scope), `${scope} is not offered to a member`);
        }
        await assertCleanBrowsing(session, { secrets: [member.password] });
    });
});
