// Make's per-organization rate limit seen by the official SDK (@makehq/sdk), unchanged: a 429 with Make's
// message and `Retry-After`, which the SDK's own opt-in retry (`retry.onRateLimit`) honours.
//
// The server runs on the wall clock, and windows are whole minutes, so the retry waits for the current
// minute to end (the SDK caps one wait at its `maxDelay`, 30 s by default, and tries again): under 60 s.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { Make, MakeError } from '@makehq/sdk';

import { startGatehouse } from './lib/gatehouse.mjs';

let gh;

before(async () => {
    gh = await startGatehouse();
});

after(async () => {
    await gh?.stop();
});

function client(options) {
    const make = new Make(gh.admin.token, gh.host, options);
    make.protocol = 'http';
    return make;
}

test('the SDK retries after a 429 with Retry-After and then succeeds', { timeout: 120_000 }, async () => {
    const org = gh.admin.organizationId;
    await gh.cli(['org', 'set-limit', '--org', String(org), '--api-limit', '2']);
    // The requests below must fall in one window: not in a minute's last seconds.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 8_000) await sleep(left + 200);

    const first = await fetch(`${gh.baseUrl}/organizations/${org}`, { headers: { authorization: `Token ${gh.admin.token}` } });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('ratelimit-limit'), '2');
    assert.equal(first.headers.get('ratelimit-remaining'), '1');
    const reset = Number(first.headers.get('ratelimit-reset'));
    assert.ok(reset >= 1 && reset <= 60, `RateLimit-Reset ${reset}`);
    await first.arrayBuffer();

    // The second request of the minute is the last one; without retry the third fails as Make's does.
    await client().organizations.get(org);
    await assert.rejects(client().organizations.get(org), (error) => {
        assert.ok(error instanceof MakeError);
        assert.equal(error.statusCode, 429);
        assert.match(error.message, /Requests limit for organization exceeded, please try again later\./);
        return true;
    });
    const refused = await fetch(`${gh.baseUrl}/organizations/${org}`, { headers: { authorization: `Token ${gh.admin.token}` } });
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    await refused.arrayBuffer();

    const started = Date.now();
    const organization = await client({ retry: { onRateLimit: true, maxRetries: 4 } }).organizations.get(org);
    assert.equal(organization.id, org);
    assert.equal(organization.license.apiLimit, 2);
    const waited = (Date.now() - started) / 1000;
    assert.ok(waited >= retryAfter - 2, `the SDK waited ${waited} s, Retry-After said ${retryAfter}`);
});
