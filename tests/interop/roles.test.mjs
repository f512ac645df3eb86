// Issue 12: Make's roles, custom roles, catalogues and memberships, driven by the official SDK unchanged,
// and by the SDK's tool definitions (`MakeTools`), which Make's CLI and MCP server run as they are.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Make, MakeError } from '@makehq/sdk';
import { MakeTools } from '@makehq/sdk/tools';

import { startGatehouse } from './lib/gatehouse.mjs';

const MEMBER = 'member@interop.local';

let gh;
let admin;
let make;
const fx = {};

function client(token) {
    const m = new Make(token, gh.host);
    m.protocol = 'http';
    return m;
}

function tool(name) {
    const found = MakeTools.find((t) => t.name === name);
    assert.ok(found, `MakeTools has no ${name}`);
    return found;
}

async function rejectsMake(promise, statusCode, messageRe) {
    await assert.rejects(promise, (error) => {
        assert.ok(error instanceof MakeError, `expected a MakeError, got ${error?.constructor?.name}: ${error?.message}`);
        assert.equal(error.statusCode, statusCode, `statusCode (message: ${error.message})`);
        if (messageRe) assert.match(error.message, messageRe);
        return true;
    });
}

before(async () => {
    gh = await startGatehouse();
    admin = gh.admin;
    make = client(admin.token);
    fx.memberId = Number(await gh.cli(['user', 'create', '--email', MEMBER, '--name', 'Member']));
    await gh.cli(['member', 'add', '--org', String(admin.organizationId), '--user', MEMBER, '--role', 'member']);
    await gh.cli(['member', 'add', '--team', String(admin.teamId), '--user', MEMBER, '--role', 'member']);
    fx.memberToken = await gh.cli(['token', 'create', '--user', MEMBER, '--label', 'member', '--scope', 'teams:read', '--scope', 'teams:write', '--scope', 'user:read']);
});

after(async () => {
    if (gh) await gh.stop();
});

test('enums.countries(), enums.timezones() and enums.regions() answer Make\'s shapes with numeric ids', async () => {
    const countries = await make.enums.countries();
    const czechia = countries.find((c) => c.code2 === 'cz');
    assert.deepEqual(Object.keys(czechia).sort(), ['code', 'code2', 'id', 'name']);
    assert.equal(czechia.code, 'CZE');
    assert.ok(Number.isInteger(czechia.id));
    const timezones = await make.enums.timezones();
    const prague = timezones.find((t) => t.code === 'Europe/Prague');
    assert.ok(Number.isInteger(prague.id));
    assert.match(prague.offset, /^\+0[12]:00$/);
    const regions = await make.enums.regions();
    assert.ok(regions.length > 0 && regions.every((r) => Number.isInteger(r.id) && typeof r.name === 'string'));
    // Make's CLI `enums timezones` runs this tool.
    const viaTool = await tool('enums_timezones').execute(make, {});
    assert.equal(viaTool.length, timezones.length);
});

test('organizations.create/update keep the catalogue ids they are given', async () => {
    const [prague, newYork] = ['Europe/Prague', 'America/New_York'].map((code) => code);
    const timezones = await make.enums.timezones();
    const countries = await make.enums.countries();
    const regions = await make.enums.regions();
    const tz = (code) => timezones.find((t) => t.code === code).id;
    const country = (code2) => countries.find((c) => c.code2 === code2).id;
    const created = await make.organizations.create({ name: 'Catalogued', regionId: regions[0].id, timezoneId: tz(prague), countryId: country('cz') });
    assert.equal(created.timezoneId, tz(prague));
    assert.equal(created.countryId, country('cz'));
    const updated = await make.organizations.update(created.id, { timezoneId: tz(newYork), countryId: country('us') });
    assert.equal(updated.timezoneId, tz(newYork));
    const read = await make.organizations.get(created.id);
    assert.equal(read.timezoneId, tz(newYork));
    assert.equal(read.countryId, country('us'));
});

test('users.me() carries numeric catalogue ids and the caller\'s organization and team roles', async () => {
    const me = await make.users.me();
    for (const key of ['timezoneId', 'localeId']) assert.ok(Number.isInteger(me[key]), `${key}: ${me[key]}`);
    assert.ok(me.userOrganizationRoles.some((r) => r.organizationId === admin.organizationId && r.usersRoleId === 1));
    // The SDK's tools tell agents to read their teamId here.
    assert.ok(me.userTeamRoles.some((r) => r.teamId === admin.teamId));
});

test('roles.list(), roles.get() and roles.permissions() answer the built-in catalogue', async () => {
    const roles = await make.roles.list({ category: 'team' });
    assert.ok(roles.length >= 5 && roles.every((r) => r.category === 'team'));
    const member = roles.find((r) => r.identifier === 'team_member');
    assert.ok(member.permissions.includes('team:view'));
    const detail = await make.roles.get(member.id);
    assert.equal(detail.name, 'Team Member');
    const permissions = await make.roles.permissions({ roleCategory: 'organization' });
    assert.ok(permissions.length > 0 && permissions.every((p) => p.roleCategory === 'organization' && Number.isInteger(p.id)));
    const cols = await make.roles.list({ cols: ['id', 'name'] });
    assert.deepEqual(Object.keys(cols[0]).sort(), ['id', 'name']);
    // Make's CLI `roles list` runs this tool.
    const viaTool = await tool('roles_list').execute(make, {});
    assert.ok(viaTool.length >= 10);
});

test('customRoles.create/update/delete manage an organization\'s own roles', async () => {
    const permissions = await make.roles.permissions({ roleCategory: 'team' });
    const view = permissions.find((p) => p.name === 'team:view').id;
    const role = await make.customRoles.create({ name: 'Viewer', category: 'team', organizationId: admin.organizationId, permissions: [view] });
    assert.equal(role.managementType, 'custom_managed');
    assert.deepEqual(role.permissions.map((p) => p.id), [view]);
    const listed = await make.roles.list({ organizationId: admin.organizationId });
    assert.ok(listed.some((r) => r.id === role.id));
    const updated = await make.customRoles.update(role.id, { organizationId: admin.organizationId, name: 'Watcher' });
    assert.equal(updated.name, 'Watcher');
    assert.equal(await make.customRoles.delete(role.id, { organizationId: admin.organizationId }), role.id);
    await rejectsMake(make.roles.get(role.id), 404);
});

test('a team member holding teams:write is refused a team change; the owner is not', async () => {
    const member = client(fx.memberToken);
    await rejectsMake(member.fetch(`/teams/${admin.teamId}`, { method: 'DELETE', query: { confirmed: true } }), 403, /team:delete/);
    const team = await make.teams.create({ name: 'Disposable', organizationId: admin.organizationId });
    await make.teams.delete(team.id);
});

test('with a wrong key, the MCP server\'s tools report an authentication error, on any path', async () => {
    const wrong = client('3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d');
    // scenarios_list reaches a path Gatehouse does not serve: the key is what the user must hear about.
    await rejectsMake(tool('scenarios_list').execute(wrong, { teamId: admin.teamId }), 401, /API token is invalid/);
    await rejectsMake(tool('users_me').execute(wrong, {}), 401, /API token is invalid/);
});
