// Gatehouse driven by the official Make TypeScript SDK (@makehq/sdk), unchanged.
//
// One real `gatehouse serve` for this file (fresh SQLite database in a temp dir); extra users,
// organizations, teams and tokens are made with the real CLI while the server runs.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { Make, MakeError } from '@makehq/sdk';
import { MakeTools } from '@makehq/sdk/tools';

import { startGatehouse, ZONE } from './lib/gatehouse.mjs';

const UUID_V4_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const ISO_MS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const AUTH_USER_KEYS = [
    'id', 'name', 'email', 'language', 'timezoneId', 'localeId', 'countryId', 'features', 'avatar', 'timezone', 'locale',
];

const OUTSIDER = 'outsider@interop.local';
const LIMITED = 'limited@interop.local';

let gh; // the running server
let admin; // first-start JSON: {email,password,token,userId,organizationId,teamId}
let make; // Make client with the first-start all-scopes token
let catalog; // scope names from /enums/user-api-token-scopes
const fx = {}; // fixture ids made through the CLI

function client(token) {
    const m = new Make(token, gh.host);
    m.protocol = 'http';
    return m;
}

/** A token made with the CLI; resolves to the token string. */
function cliToken(email, label, scopes, extra = []) {
    return gh.cli(['token', 'create', '--user', email, '--label', label, ...scopes.flatMap((s) => ['--scope', s]), ...extra]);
}

/** Plain HTTP, for what MakeError does not expose (the error body's `code`). */
async function raw(path, { authorization, method = 'GET', body } = {}) {
    const headers = {};
    if (authorization) headers.authorization = authorization;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${gh.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json;
    try {
        json = JSON.parse(text);
    } catch {
        json = undefined;
    }
    return { status: res.status, contentType: res.headers.get('content-type'), text, json };
}

/** Asserts that `promise` rejects with a MakeError of `statusCode` whose message matches `messageRe`. */
async function rejectsMake(promise, statusCode, messageRe) {
    await assert.rejects(promise, (error) => {
        assert.ok(error instanceof MakeError, `expected a MakeError, got ${error?.constructor?.name}: ${error?.message}`);
        assert.equal(error.name, 'MakeError');
        assert.equal(error.statusCode, statusCode, `statusCode (message: ${error.message})`);
        if (messageRe) assert.match(error.message, messageRe);
        return true;
    });
}

function assertErrorBody(res, status, code) {
    assert.equal(res.status, status, res.text);
    assert.match(res.contentType ?? '', /^application\/json(;|$)/);
    assert.ok(res.json && typeof res.json === 'object', `error body is not JSON: ${res.text}`);
    assert.equal(typeof res.json.message, 'string', res.text);
    assert.ok(res.json.message.length > 0, res.text);
    assert.equal(typeof res.json.detail, 'string', res.text);
    assert.equal(res.json.code, code, res.text);
}

const sorted = (xs) => [...xs].sort();

async function createTokenViaApi(m, label, scope) {
    const res = await m.fetch('/users/me/api-tokens', { method: 'POST', body: { label, scope } });
    assert.ok(res && res.apiToken, `POST /users/me/api-tokens answered ${JSON.stringify(res)}`);
    return res.apiToken;
}

async function listTokensViaApi(m) {
    const res = await m.fetch('/users/me/api-tokens');
    assert.ok(Array.isArray(res?.apiTokens), `GET /users/me/api-tokens answered ${JSON.stringify(res)}`);
    return res.apiTokens;
}

before(async () => {
    gh = await startGatehouse();
    admin = gh.admin;
    make = client(admin.token);

    // A second user with an organization and a team the administrator does not belong to.
    fx.outsiderId = Number(await gh.cli(['user', 'create', '--email', OUTSIDER, '--name', 'Outsider']));
    fx.outsiderOrgId = Number(await gh.cli(['org', 'create', '--name', 'Outsider org', '--owner', OUTSIDER]));
    fx.outsiderTeamId = Number(await gh.cli(['team', 'create', '--org', String(fx.outsiderOrgId), '--name', 'Outsider team']));
    await gh.cli(['member', 'add', '--team', String(fx.outsiderTeamId), '--user', OUTSIDER]);

    // A second organization for the administrator, sorting before "Default organization", with a
    // non-default API limit; and a second team in the default organization.
    fx.aardvarkOrgId = Number(
        await gh.cli(['org', 'create', '--name', 'Aardvark org', '--owner', admin.email, '--api-limit', '240']),
    );
    fx.blueTeamId = Number(await gh.cli(['team', 'create', '--org', String(admin.organizationId), '--name', 'Blue team']));
    await gh.cli(['member', 'add', '--team', String(fx.blueTeamId), '--user', admin.email]);

    // A plain member of the default organization, without a password.
    fx.limitedId = Number(await gh.cli(['user', 'create', '--email', LIMITED, '--name', 'Limited User']));
    await gh.cli(['member', 'add', '--org', String(admin.organizationId), '--user', LIMITED, '--role', 'member']);

    for (const [key, value] of Object.entries(fx)) {
        assert.ok(Number.isInteger(value) && value > 0, `CLI printed a bad id for ${key}: ${value}`);
    }

    const enumRes = await make.fetch('/enums/user-api-token-scopes');
    catalog = enumRes.userApiTokenScopes.map((s) => s.name);
});

after(async () => {
    if (!gh) return;
    const exit = await gh.stop();
    // SIGTERM must give a clean exit (graceful shutdown), not a crash or a SIGKILL after the timeout.
    assert.deepEqual(exit, { code: 0, signal: null }, `gatehouse did not shut down cleanly:\n${gh.stderr().slice(-2000)}`);
});

// ---------------------------------------------------------------------------------------------------------
// Who am I

test('users.me() returns the first-start administrator', async () => {
    assert.ok(UUID_V4_RE.test(admin.token), `first-start token is not a UUIDv4: ${admin.token}`);
    const me = await make.users.me();
    assert.equal(me.id, admin.userId);
    assert.equal(me.email, admin.email);
    for (const key of AUTH_USER_KEYS) assert.ok(key in me, `authUser lacks "${key}": ${JSON.stringify(me)}`);
    assert.equal(typeof me.name, 'string');
    assert.ok(me.name.length > 0);
    assert.equal(typeof me.features, 'object');
});

test('users.me() answers for a token of another user with an unrelated scope', async () => {
    const token = await cliToken(LIMITED, 'me with scenarios:read', ['scenarios:read']);
    const me = await client(token).users.me();
    assert.equal(me.id, fx.limitedId);
    assert.equal(me.email, LIMITED);
    assert.equal(me.name, 'Limited User');
});

test('users.currentAuthorization() reports authUsed "token" and every catalog scope for the first-start token', async () => {
    const auth = await make.users.currentAuthorization();
    assert.equal(auth.authUsed, 'token');
    assert.ok(Array.isArray(auth.scope));
    assert.equal(new Set(auth.scope).size, auth.scope.length, 'duplicate scopes');
    assert.deepEqual(sorted(auth.scope), sorted(catalog));
    for (const s of ['organizations:read', 'teams:read', 'user:read', 'user:write', 'scenarios:run']) {
        assert.ok(auth.scope.includes(s), `missing ${s}`);
    }
});

test('users.currentAuthorization() returns exactly the scopes of a limited CLI token', async () => {
    const requested = ['user:read', 'teams:read', 'scenarios:run', 'datastores:write'];
    const token = await cliToken(admin.email, 'limited', requested);
    assert.match(token, UUID_V4_RE);
    const auth = await client(token).users.currentAuthorization();
    assert.equal(auth.authUsed, 'token');
    assert.equal(auth.scope.length, requested.length, JSON.stringify(auth.scope));
    assert.deepEqual(sorted(auth.scope), sorted(requested));
});

test('the scope catalog holds every scope the SDK tools declare, and nothing malformed', async () => {
    assert.ok(catalog.length > 0);
    assert.equal(new Set(catalog).size, catalog.length, 'duplicate names in the catalog');
    for (const name of catalog) assert.match(name, /^[a-z][a-z-]*:(read|write|run|use)$/);
    const toolScopes = new Set(MakeTools.map((t) => t.scope).filter(Boolean));
    assert.ok(toolScopes.size > 10, 'MakeTools declared suspiciously few scopes');
    const missing = [...toolScopes].filter((s) => !catalog.includes(s));
    assert.deepEqual(missing, [], 'scopes the SDK needs but the catalog lacks');
});

// ---------------------------------------------------------------------------------------------------------
// Organizations

test('organizations.list() returns only the organizations the caller belongs to', async () => {
    const orgs = await make.organizations.list();
    assert.ok(Array.isArray(orgs));
    assert.deepEqual(sorted(orgs.map((o) => o.id)), sorted([admin.organizationId, fx.aardvarkOrgId]));
    const byId = new Map(orgs.map((o) => [o.id, o]));
    assert.equal(byId.get(fx.aardvarkOrgId).name, 'Aardvark org');
    for (const org of orgs) {
        for (const key of ['id', 'name', 'zone', 'timezoneId', 'countryId', 'timezone', 'country', 'license']) {
            assert.ok(key in org, `organization lacks "${key}": ${JSON.stringify(org)}`);
        }
        assert.equal(org.zone, ZONE);
        assert.equal(typeof org.license.apiLimit, 'number');
    }
    assert.equal(byId.get(admin.organizationId).license.apiLimit, 60);
    assert.equal(byId.get(fx.aardvarkOrgId).license.apiLimit, 240);

    // The outsider sees only its own organization.
    const outsiderToken = await cliToken(OUTSIDER, 'outsider orgs', ['organizations:read']);
    const theirs = await client(outsiderToken).organizations.list();
    assert.deepEqual(theirs.map((o) => [o.id, o.name]), [[fx.outsiderOrgId, 'Outsider org']]);
});

test('organizations.list() honours cols[] and pg[limit|offset|sortBy|sortDir]', async () => {
    const first = await make.organizations.list({ cols: ['id', 'name'], pg: { limit: 1, sortBy: 'name' } });
    assert.equal(first.length, 1);
    assert.deepEqual(Object.keys(first[0]).sort(), ['id', 'name']);
    assert.deepEqual(first[0], { id: fx.aardvarkOrgId, name: 'Aardvark org' });

    const desc = await make.organizations.list({ cols: ['id', 'name'], pg: { limit: 1, sortBy: 'name', sortDir: 'desc' } });
    assert.deepEqual(desc, [{ id: admin.organizationId, name: desc[0]?.name }]);
    assert.notEqual(desc[0].name, 'Outsider org');

    const second = await make.organizations.list({ cols: ['id'], pg: { limit: 1, offset: 1, sortBy: 'name' } });
    assert.deepEqual(second, [{ id: admin.organizationId }]);

    const beyond = await make.organizations.list({ pg: { limit: 5, offset: 2 } });
    assert.deepEqual(beyond, []);

    // The pg block echoes what was asked (raw, since the SDK returns only .organizations).
    const res = await make.fetch('/organizations', { query: { cols: ['id'], pg: { limit: 1, sortBy: 'name', sortDir: 'desc' } } });
    assert.equal(res.pg.limit, 1);
    assert.equal(res.pg.sortBy, 'name');
    assert.equal(res.pg.sortDir, 'desc');
});

test('organizations.get(id) returns license.apiLimit, zone and the teams', async () => {
    const org = await make.organizations.get(admin.organizationId);
    assert.equal(org.id, admin.organizationId);
    assert.equal(typeof org.name, 'string');
    assert.equal(org.zone, ZONE);
    assert.equal(org.license.apiLimit, 60);
    assert.ok(Array.isArray(org.teams));
    const teamIds = sorted(org.teams.map((t) => t.id));
    assert.deepEqual(teamIds, sorted([admin.teamId, fx.blueTeamId]));
    assert.equal(org.teams.find((t) => t.id === fx.blueTeamId).name, 'Blue team');

    const aardvark = await make.organizations.get(fx.aardvarkOrgId);
    assert.equal(aardvark.name, 'Aardvark org');
    assert.equal(aardvark.license.apiLimit, 240);
    assert.equal(aardvark.zone, ZONE);
    assert.deepEqual(aardvark.teams, []);
});

test('organizations.get() of an organization the caller does not belong to rejects with 404', async () => {
    await rejectsMake(make.organizations.get(fx.outsiderOrgId), 404);
    const res = await raw(`/organizations/${fx.outsiderOrgId}`, { authorization: `Token ${admin.token}` });
    assertErrorBody(res, 404, 'SC404');
    assert.ok(!res.text.includes('Outsider org'), 'the 404 leaks the organization name');

    // The other way round, and an id that does not exist at all: the same answer.
    const outsiderToken = await cliToken(OUTSIDER, 'outsider get', ['organizations:read']);
    await rejectsMake(client(outsiderToken).organizations.get(admin.organizationId), 404);
    await rejectsMake(make.organizations.get(987654), 404);
});

// ---------------------------------------------------------------------------------------------------------
// Teams

test('teams.list(orgId) lists exactly the organization\'s teams', async () => {
    const teams = await make.teams.list(admin.organizationId);
    assert.ok(Array.isArray(teams));
    assert.deepEqual(sorted(teams.map((t) => t.id)), sorted([admin.teamId, fx.blueTeamId]));
    for (const team of teams) {
        assert.equal(team.organizationId, admin.organizationId);
        assert.equal(typeof team.name, 'string');
    }
    assert.equal(teams.find((t) => t.id === fx.blueTeamId).name, 'Blue team');

    const page = await make.teams.list(admin.organizationId, { cols: ['id', 'name'], pg: { limit: 1, sortBy: 'name' } });
    assert.equal(page.length, 1);
    assert.deepEqual(Object.keys(page[0]).sort(), ['id', 'name']);
    assert.equal(page[0].id, fx.blueTeamId, '"Blue team" sorts before "Default team"');
});

test('teams.get(id) returns the team', async () => {
    const team = await make.teams.get(fx.blueTeamId);
    assert.deepEqual({ id: team.id, name: team.name, organizationId: team.organizationId }, {
        id: fx.blueTeamId,
        name: 'Blue team',
        organizationId: admin.organizationId,
    });
    const first = await make.teams.get(admin.teamId);
    assert.equal(first.id, admin.teamId);
    assert.equal(first.organizationId, admin.organizationId);
});

test('teams of an organization the caller does not belong to stay hidden', async () => {
    await rejectsMake(make.teams.get(fx.outsiderTeamId), 404);
    let listed;
    try {
        listed = await make.teams.list(fx.outsiderOrgId);
    } catch (error) {
        assert.ok(error instanceof MakeError, String(error));
        assert.ok([403, 404].includes(error.statusCode), `teams.list of a foreign org: ${error.statusCode}`);
        return;
    }
    assert.deepEqual(listed, [], `teams.list of a foreign organization leaked ${JSON.stringify(listed)}`);
});

// ---------------------------------------------------------------------------------------------------------
// API-token CRUD through make.fetch

test('POST /users/me/api-tokens creates a full UUIDv4 token that works with a new Make instance', async () => {
    const scope = ['organizations:read', 'user:read'];
    const created = await createTokenViaApi(make, 'interop: create', scope);
    assert.match(created.token, UUID_V4_RE);
    assert.notEqual(created.token, admin.token);
    assert.equal(created.label, 'interop: create');
    assert.deepEqual(sorted(created.scope), sorted(scope));
    assert.match(created.created, ISO_MS_RE);
    assert.ok(Math.abs(Date.parse(created.created) - Date.now()) < 60_000, `created ${created.created} is not now`);
    assert.ok('expires' in created, 'apiToken lacks "expires"');
    assert.equal(created.expires, null);

    const fresh = client(created.token);
    const me = await fresh.users.me();
    assert.equal(me.id, admin.userId);
    const auth = await fresh.users.currentAuthorization();
    assert.equal(auth.authUsed, 'token');
    assert.deepEqual(sorted(auth.scope), sorted(scope));
    const orgs = await fresh.organizations.list();
    assert.ok(orgs.some((o) => o.id === admin.organizationId));
    // It has exactly what was asked for: no teams:read.
    await rejectsMake(fresh.teams.list(admin.organizationId), 401, /teams:read/);
});

test('GET /users/me/api-tokens lists tokens masked: first group readable, never the full value', async () => {
    const created = await createTokenViaApi(make, 'interop: list', ['user:read']);
    const list = await listTokensViaApi(make);
    const text = JSON.stringify(list);
    assert.ok(!text.includes(created.token), 'the list reveals a full token');
    assert.ok(!text.includes(admin.token), 'the list reveals the first-start token');
    assert.ok(!text.includes(created.token.split('-')[1]), 'the list reveals the second group');

    const entry = list.find((t) => t.created === created.created);
    assert.ok(entry, `the new token (created ${created.created}) is not listed: ${text}`);
    assert.equal(entry.token, `${created.token.slice(0, 8)}-****-****-****-************`);
    assert.equal(entry.label, 'interop: list');
    assert.deepEqual(entry.scope, ['user:read']);
    assert.match(entry.created, ISO_MS_RE);
    assert.ok('expires' in entry && 'lastUsed' in entry, JSON.stringify(entry));
    assert.equal(entry.expires, null);
    assert.equal(entry.lastUsed, null, 'a never-used token has lastUsed null');

    const first = list.find((t) => t.token.startsWith(admin.token.slice(0, 8)));
    assert.ok(first, 'the first-start token is not listed');
    assert.equal(first.token, `${admin.token.slice(0, 8)}-****-****-****-************`);

    for (const t of list) {
        assert.match(t.token, /^[0-9a-f]{8}-\*{4}-\*{4}-\*{4}-\*{12}$/);
        assert.match(t.created, ISO_MS_RE);
    }
    assert.equal(new Set(list.map((t) => t.created)).size, list.length, 'created is not unique per user');

    // Using the token shows up as lastUsed.
    await client(created.token).users.me();
    const after = (await listTokensViaApi(make)).find((t) => t.created === created.created);
    assert.match(after.lastUsed ?? '', ISO_MS_RE, `lastUsed after a call: ${after.lastUsed}`);
    assert.ok(Date.parse(after.lastUsed) >= Date.parse(created.created));
});

test('GET /users/me/api-tokens lists only the caller\'s tokens', async () => {
    const outsiderToken = await cliToken(OUTSIDER, 'outsider list', ['user:read']);
    const list = await listTokensViaApi(client(outsiderToken));
    // Earlier tests gave the outsider other tokens, all labelled "outsider …"; the admin has many more.
    const labels = list.map((t) => t.label);
    assert.ok(labels.includes('outsider list'), JSON.stringify(labels));
    for (const label of labels) assert.match(label, /^outsider /, `another user's token is listed: ${label}`);
    const mine = list.find((t) => t.label === 'outsider list');
    assert.equal(mine.token, `${outsiderToken.slice(0, 8)}-****-****-****-************`);
    assert.ok(!list.some((t) => t.token.startsWith(admin.token.slice(0, 8))), 'the admin token is listed');
    const adminLabels = (await listTokensViaApi(make)).map((t) => t.label);
    assert.ok(!adminLabels.includes('outsider list'), 'the outsider token shows in the admin list');
});

test('DELETE /users/me/api-tokens/{created} revokes the token (MakeError 401 afterwards)', async () => {
    const created = await createTokenViaApi(make, 'interop: delete', ['user:read', 'organizations:read']);
    const doomed = client(created.token);
    assert.equal((await doomed.users.me()).id, admin.userId); // works, and is now cached by the server

    const res = await make.fetch(`/users/me/api-tokens/${encodeURIComponent(created.created)}`, { method: 'DELETE' });
    assert.deepEqual(res, { apiToken: created.created });

    await rejectsMake(doomed.users.me(), 401);
    await rejectsMake(doomed.organizations.list(), 401);
    const body = await raw('/users/me', { authorization: `Token ${created.token}` });
    assertErrorBody(body, 401, 'SC401');

    const list = await listTokensViaApi(make);
    assert.ok(!list.some((t) => t.created === created.created), 'the deleted token is still listed');
    // The caller's own token is unaffected.
    assert.equal((await make.users.me()).id, admin.userId);

    // Deleting it again: nothing there any more.
    await rejectsMake(make.fetch(`/users/me/api-tokens/${encodeURIComponent(created.created)}`, { method: 'DELETE' }), 404);
});

test('DELETE /users/me/api-tokens/{created} also accepts the timestamp with raw colons', async () => {
    // Other Make clients put the created value in the path unencoded.
    const created = await createTokenViaApi(make, 'interop: raw delete', ['user:read']);
    const res = await make.fetch(`/users/me/api-tokens/${created.created}`, { method: 'DELETE' });
    assert.deepEqual(res, { apiToken: created.created });
    await rejectsMake(client(created.token).users.me(), 401);
});

test('DELETE /users/me/api-tokens/{created} cannot touch another user\'s token', async () => {
    const theirs = await gh.cli(
        ['token', 'create', '--user', OUTSIDER, '--label', 'outsider victim', '--scope', 'user:read'],
        { json: true },
    );
    assert.match(theirs.created, ISO_MS_RE);
    await rejectsMake(make.fetch(`/users/me/api-tokens/${encodeURIComponent(theirs.created)}`, { method: 'DELETE' }), 404);
    const victim = client(theirs.token);
    assert.equal((await victim.users.me()).id, fx.outsiderId);
    assert.ok((await listTokensViaApi(victim)).some((t) => t.created === theirs.created));
});

test('tokens created concurrently get distinct created keys and delete independently', async () => {
    const made = await Promise.all(
        Array.from({ length: 5 }, (_, i) => createTokenViaApi(make, `interop: burst ${i}`, ['user:read'])),
    );
    const keys = made.map((t) => t.created);
    assert.equal(new Set(keys).size, keys.length, `duplicate created values: ${keys}`);
    assert.equal(new Set(made.map((t) => t.token)).size, made.length);

    await make.fetch(`/users/me/api-tokens/${encodeURIComponent(made[0].created)}`, { method: 'DELETE' });
    await rejectsMake(client(made[0].token).users.me(), 401);
    for (const t of made.slice(1)) assert.equal((await client(t.token).users.me()).id, admin.userId);
});

test('POST /users/me/api-tokens with an unknown scope is rejected with 400 IM005 and creates nothing', async () => {
    const before = await listTokensViaApi(make);
    await rejectsMake(
        make.fetch('/users/me/api-tokens', { method: 'POST', body: { label: 'bad', scope: ['user:read', 'no-such:scope'] } }),
        400,
    );
    const res = await raw('/users/me/api-tokens', {
        method: 'POST',
        authorization: `Token ${admin.token}`,
        body: { label: 'bad', scope: ['no-such:scope'] },
    });
    assertErrorBody(res, 400, 'IM005');
    const afterList = await listTokensViaApi(make);
    assert.equal(afterList.length, before.length, 'a rejected request created a token');
});

test('the API-token routes need user:read to list and user:write to create or delete', async () => {
    const readOnly = client(await cliToken(admin.email, 'user:read only', ['user:read']));
    assert.ok((await listTokensViaApi(readOnly)).length > 0);
    await rejectsMake(
        readOnly.fetch('/users/me/api-tokens', { method: 'POST', body: { label: 'nope', scope: ['user:read'] } }),
        401,
        /user:write/,
    );
    const victim = await createTokenViaApi(make, 'interop: not deletable by read-only', ['user:read']);
    await rejectsMake(
        readOnly.fetch(`/users/me/api-tokens/${encodeURIComponent(victim.created)}`, { method: 'DELETE' }),
        401,
        /user:write/,
    );
    assert.equal((await client(victim.token).users.me()).id, admin.userId, 'the token was deleted anyway');

    const orgsOnly = client(await cliToken(admin.email, 'orgs only', ['organizations:read']));
    await rejectsMake(orgsOnly.fetch('/users/me/api-tokens'), 401, /user:read/);
});

// ---------------------------------------------------------------------------------------------------------
// Errors the SDK turns into MakeError

test('a never-issued UUIDv4 token gets MakeError 401 (SC401)', async () => {
    const bogus = randomUUID();
    assert.match(bogus, UUID_V4_RE);
    const m = client(bogus);
    await rejectsMake(m.users.me(), 401);
    await rejectsMake(m.users.currentAuthorization(), 401);
    await rejectsMake(m.organizations.list(), 401);
    const res = await raw('/users/me', { authorization: `Token ${bogus}` });
    assertErrorBody(res, 401, 'SC401');
    // The SDK's message is the body's detail.
    await rejectsMake(m.users.me(), 401, new RegExp(`^${res.json.detail.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
});

test('a token lacking the endpoint\'s scope gets MakeError 401 naming the missing scope', async () => {
    const token = await cliToken(admin.email, 'user:read only (scope test)', ['user:read']);
    const m = client(token);
    await rejectsMake(m.organizations.list(), 401, /organizations:read/);
    await rejectsMake(m.organizations.get(admin.organizationId), 401, /organizations:read/);
    await rejectsMake(m.teams.list(admin.organizationId), 401, /teams:read/);
    await rejectsMake(m.teams.get(admin.teamId), 401, /teams:read/);

    const res = await raw('/organizations', { authorization: `Token ${token}` });
    assertErrorBody(res, 401, 'SC401');
    assert.equal(res.json.message, 'Insufficient scope');
    assert.match(res.json.detail, /organizations:read/);

    // The same token still does what its scope allows.
    assert.equal((await m.users.me()).id, admin.userId);
});

test('a write scope does not grant read: teams:write alone cannot teams.list()', async () => {
    const m = client(await cliToken(admin.email, 'teams:write only', ['teams:write']));
    await rejectsMake(m.teams.list(admin.organizationId), 401, /teams:read/);
});

test('each wrapped SDK call works with exactly the scope MakeTools declares for it', async () => {
    const calls = {
        organizations_list: (m) => m.organizations.list(),
        organizations_get: (m) => m.organizations.get(admin.organizationId),
        teams_list: (m) => m.teams.list(admin.organizationId),
        teams_get: (m) => m.teams.get(admin.teamId),
        users_me: (m) => m.users.me(),
    };
    for (const [name, call] of Object.entries(calls)) {
        const tool = MakeTools.find((t) => t.name === name);
        assert.ok(tool, `MakeTools has no ${name}`);
        // users_me declares no scope: any valid token must do.
        const scope = tool.scope ?? 'scenarios:read';
        const m = client(await cliToken(admin.email, `exactly ${scope}`, [scope]));
        const result = await call(m);
        assert.ok(result, `${name} with only ${scope} returned ${JSON.stringify(result)}`);
    }
});

test('a non-UUIDv4 credential is sent as Bearer and rejected with MakeError 401', async () => {
    const seen = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (url, init) => {
        seen.push(new Headers(init?.headers).get('authorization'));
        return realFetch(url, init);
    };
    try {
        await rejectsMake(client('not-a-uuid').users.me(), 401);
    } finally {
        globalThis.fetch = realFetch;
    }
    assert.deepEqual(seen, ['Bearer not-a-uuid'], 'the SDK did not send the Bearer scheme');
    const res = await raw('/users/me', { authorization: 'Bearer not-a-uuid' });
    assertErrorBody(res, 401, 'SC401');
});

test('requests without credentials get 401 SC401', async () => {
    for (const path of ['/users/me', '/organizations', '/users/me/api-tokens', '/enums/user-api-token-scopes']) {
        assertErrorBody(await raw(path), 401, 'SC401');
    }
});

test('GET /enums/user-api-token-scopes answers any valid token', async () => {
    const m = client(await cliToken(LIMITED, 'enum reader', ['scenarios:read']));
    const res = await m.fetch('/enums/user-api-token-scopes');
    assert.deepEqual(res.userApiTokenScopes.map((s) => s.name), catalog);
    for (const entry of res.userApiTokenScopes) assert.equal(typeof entry.name, 'string');
});

// ---------------------------------------------------------------------------------------------------------
// Tokens managed with the CLI while the server runs

test('a CLI token with --expires-in stops working once it expires', async () => {
    const token = await gh.cli(
        ['token', 'create', '--user', admin.email, '--label', 'short-lived', '--scope', 'user:read', '--expires-in', '2s'],
        { json: true },
    );
    assert.match(token.expires, ISO_MS_RE);
    const m = client(token.token);
    assert.equal((await m.users.me()).id, admin.userId);
    const listed = (await listTokensViaApi(make)).find((t) => t.created === token.created);
    assert.equal(listed?.expires, token.expires);
    await sleep(Math.max(0, Date.parse(token.expires) - Date.now()) + 300);
    await rejectsMake(m.users.me(), 401);
});

test('a token deleted with the CLI while the server runs stops working within a second', async () => {
    const token = await gh.cli(
        ['token', 'create', '--user', admin.email, '--label', 'cli-deleted', '--scope', 'user:read'],
        { json: true },
    );
    const m = client(token.token);
    assert.equal((await m.users.me()).id, admin.userId); // now verified and cached by the server
    const deleted = await gh.cli(['token', 'delete', '--user', admin.email, '--created', token.created]);
    assert.equal(deleted, token.created);
    // The server follows the store's revocation feed (polled every 250 ms on SQLite).
    const deadline = Date.now() + 1000;
    for (;;) {
        try {
            await m.users.me();
        } catch (error) {
            assert.ok(error instanceof MakeError, `expected MakeError, got ${error}`);
            assert.equal(error.statusCode, 401);
            break;
        }
        assert.ok(Date.now() < deadline, 'the deleted token was still accepted after one second');
        await sleep(20);
    }
});
