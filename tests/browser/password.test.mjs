// Email through a real SMTP server (aiosmtpd): "Forgot your password?" (request the link, read the email the
// server received, open the link, set a new password, sign in with it; the old password and the used link are
// refused), and the notice a user gets when a token is made on their account.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
    addTokenThroughForm,
    alertText,
    assertCleanBrowsing,
    atPath,
    createMember,
    notice,
    openSession,
    screenshot,
    signIn,
    signOut,
    submitLogin,
} from './lib/console.mjs';
import { TEST_OPTIONS, withWorld } from './lib/fixture.mjs';

test('6. a forgotten password reset through the emailed link, which works once', TEST_OPTIONS, async () => {
    await withWorld({ smtp: true }, async ({ gh, browser, smtp }) => {
        const person = await createMember(gh, {
            email: 'forgetful@browser.test',
            name: 'For Getful',
            password: 'the old password, forgotten',
        });
        const newPassword = 'a brand new password 6';

        const session = await openSession(browser, gh);
        const { page, origin } = session;
        await page.goto(`${origin}/login`);
        await Promise.all([
            page.waitForURL(atPath('/forgot-password')),
            page.getByRole('link', { name: 'Forgot your password?', exact: true }).click(),
        ]);
        await screenshot(page, '08-forgot-password');
        await page.getByLabel('Email', { exact: true }).fill(person.email);
        await Promise.all([
            page.waitForNavigation(),
            page.getByRole('button', { name: 'Send reset link', exact: true }).click(),
        ]);
        assert.match(await notice(page), /If an account exists for that address, we have sent a link/);
        await screenshot(page, '08-forgot-password-sent');

        // An unknown address gets the same answer, and no email.
        await page.goto(`${origin}/forgot-password`);
        await page.getByLabel('Email', { exact: true }).fill('nobody@browser.test');
        await Promise.all([
            page.waitForNavigation(),
            page.getByRole('button', { name: 'Send reset link', exact: true }).click(),
        ]);
        assert.match(await notice(page), /If an account exists for that address, we have sent a link/);

        const email = await smtp.waitForMessage(person.email);
        const body = `${email.text ?? ''}\n${email.html ?? ''}`;
        const escapedOrigin = origin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        const link = new RegExp(`${escapedOrigin}/reset-password/([A-Za-z0-9_~.%-]+)`).exec(body);
        assert.ok(link, `the email holds ${origin}/reset-password/<token>:\n${body}`);
        const [resetUrl, resetToken] = link;

        await page.goto(resetUrl);
        assert.equal(page.url(), `${origin}/reset-password`, 'the token leaves the address bar');
        await screenshot(page, '09-reset-password');
        await page.getByLabel('New password', { exact: true }).fill(newPassword);
        await page.getByLabel('Repeat the new password', { exact: true }).fill(newPassword);
        await Promise.all([
            page.waitForURL(atPath('/login')),
            page.getByRole('button', { name: 'Set password', exact: true }).click(),
        ]);
        await notice(page);
        await screenshot(page, '09-reset-password-done');

        await submitLogin(page, { email: person.email, password: newPassword });
        assert.equal(new URL(page.url()).pathname, '/user/api', 'the new password signs in');
        await signOut(session);

        const refused = await submitLogin(page, person);
        assert.equal(refused.status(), 401, 'the old password is refused');
        await alertText(page);

        await page.goto(resetUrl);
        assert.ok((await alertText(page)).length > 0, 'the link is refused a second time');
        assert.equal(await page.getByRole('button', { name: 'Set password', exact: true }).count(), 0, 'with no form');
        await screenshot(page, '09-reset-link-used');

        // The reset token is in the emailed link by design, and only in the one request that opens it.
        const withToken = session.seen.urls.filter((url) => url.includes(resetToken));
        assert.ok(withToken.every((url) => url === resetUrl), `the reset token only in its link: ${withToken}`);
        await assertCleanBrowsing(session, {
            secrets: [person.password, newPassword, gh.admin.token],
            expectedStatuses: [400, 401, 404, 410],
        });
    });
});

test('6b. a token made in the console sends its owner a notice by email, without the token', TEST_OPTIONS, async () => {
    await withWorld({ smtp: true }, async ({ gh, browser, smtp }) => {
        const person = await createMember(gh, { email: 'noticed@browser.test', name: 'No Ticed', password: 'noticed password 6b' });
        const session = await openSession(browser, gh);
        await signIn(session, person);
        const label = 'emailed about';
        const token = await addTokenThroughForm(session, { label, scopes: ['user:read'] });
        const email = await smtp.waitForMessage(person.email);
        const body = `${email.subject}\n${email.text ?? ''}\n${email.html ?? ''}`;
        assert.ok(body.includes(label), `the notice names the token's label:\n${body}`);
        assert.ok(!body.includes(token), 'the notice does not carry the token');
        assert.ok(!body.includes(token.slice(9)), 'nor the secret part of it');
        await assertCleanBrowsing(session, { secrets: [person.password, token] });
    });
});
