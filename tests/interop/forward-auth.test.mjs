// Gatehouse as the auth_request service of Debian's real nginx, in front of a tiny upstream that echoes
// the identity headers it receives. The official SDK talks to nginx as if it were Make's API.
//
// nginx is started unprivileged-style with its own prefix: `nginx -p DIR -c DIR/nginx.conf -g 'daemon off;
// pid DIR/nginx.pid;'`. When nginx is not installed the nginx tests are skipped with the reason (CI installs
// it: .ci/run). The Traefik-convention test needs only the binary.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { Make, MakeError } from '@makehq/sdk';

import { startGatehouse } from './lib/gatehouse.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');

function findNginx() {
    const candidates = (process.env.PATH ?? '').split(':').map((dir) => path.join(dir, 'nginx'));
    candidates.push('/usr/sbin/nginx', '/usr/local/sbin/nginx');
    for (const candidate of candidates) {
        try {
            accessSync(candidate, fsConstants.X_OK);
            return candidate;
        } catch {
            // not here
        }
    }
    return null;
}

const NGINX = findNginx();
const skipNginx = NGINX ? false : 'nginx is not installed (apt-get install nginx; CI installs it in .ci/run)';
if (skipNginx) console.log(`# forward-auth nginx tests skipped: ${skipNginx}`);

let gh; // gatehouse serve
let upstream; // the echo server
let upstreamPort;
let nginx; // the nginx child
let nginxPort;

async function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
        server.on('error', reject);
    });
}

/** The deploy/ configuration's location blocks, wired to this test's ports. */
function nginxConf(dir) {
    const snippet = readFileSync(path.join(REPO, 'deploy/nginx/gatehouse-forward-auth.conf'), 'utf8');
    return `
${process.getuid?.() === 0 ? 'user root root;' : ''}
worker_processes 1;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path ${dir}/tmp/body;
    proxy_temp_path ${dir}/tmp/proxy;
    fastcgi_temp_path ${dir}/tmp/fastcgi;
    uwsgi_temp_path ${dir}/tmp/uwsgi;
    scgi_temp_path ${dir}/tmp/scgi;
    upstream gatehouse { server 127.0.0.1:${gh.port}; }
    upstream api { server 127.0.0.1:${upstreamPort}; }
    server {
        listen 127.0.0.1:${nginxPort};
        ${snippet}
        location /api/ {
            include ${dir}/protect.conf;
            proxy_pass http://api;
        }
    }
}
`;
}

before(async () => {
    gh = await startGatehouse();
    upstream = http.createServer((req, res) => {
        // What the upstream saw, in the shape of Make's scenarios list so the SDK returns it.
        const seen = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name.startsWith('x-gatehouse-')));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ scenarios: [{ id: 1, name: 'from the upstream', url: req.url, seen }], pg: {} }));
    });
    await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamPort = upstream.address().port;
    if (skipNginx) return;

    nginxPort = await freePort();
    const dir = path.join(gh.dir, 'nginx');
    mkdirSync(path.join(dir, 'tmp'), { recursive: true });
    writeFileSync(path.join(dir, 'protect.conf'), readFileSync(path.join(REPO, 'deploy/nginx/protect.conf'), 'utf8'));
    writeFileSync(path.join(dir, 'nginx.conf'), nginxConf(dir));
    execFileSync(NGINX, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', `pid ${dir}/nginx.pid;`], { stdio: 'pipe' });
    nginx = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', `daemon off; pid ${dir}/nginx.pid;`], {
        stdio: ['ignore', 'inherit', 'inherit'],
    });
    for (let attempt = 0; attempt < 100; attempt++) {
        const up = await new Promise((resolve) => {
            const socket = net.connect(nginxPort, '127.0.0.1', () => {
                socket.end();
                resolve(true);
            });
            socket.on('error', () => resolve(false));
        });
        if (up) return;
        await sleep(50);
    }
    throw new Error(`nginx did not listen on ${nginxPort}: ${readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
});

after(async () => {
    if (nginx && nginx.exitCode === null) {
        const exited = new Promise((resolve) => nginx.on('exit', resolve));
        nginx.kill('SIGQUIT');
        await exited;
    }
    await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve()));
    await gh?.stop();
});

function throughNginx(token) {
    const make = new Make(token, `127.0.0.1:${nginxPort}`);
    make.protocol = 'http';
    return make;
}

test('the SDK lists scenarios through nginx and the upstream sees who is calling', { skip: skipNginx }, async () => {
    const token = await gh.cli(['token', 'create', '--user', gh.admin.email, '--label', 'through nginx', '--scope', 'scenarios:read']);
    const scenarios = await throughNginx(token).scenarios.list(gh.admin.teamId);
    assert.equal(scenarios.length, 1);
    const [answer] = scenarios;
    assert.equal(answer.name, 'from the upstream');
    assert.match(answer.url, /^\/api\/v2\/scenarios\?/);
    assert.deepEqual(answer.seen, {
        'x-gatehouse-user': String(gh.admin.userId),
        'x-gatehouse-scopes': 'scenarios:read',
        'x-gatehouse-auth': 'token',
        'x-gatehouse-token-label': 'through nginx',
    });
});

test('a client cannot send its own identity headers past nginx', { skip: skipNginx }, async () => {
    const token = await gh.cli(['token', 'create', '--user', gh.admin.email, '--label', 'spoofer', '--scope', 'scenarios:read']);
    const res = await fetch(`http://127.0.0.1:${nginxPort}/api/v2/scenarios?teamId=1`, {
        headers: { authorization: `Token ${token}`, 'x-gatehouse-organization': '999', 'x-gatehouse-user': '999' },
    });
    assert.equal(res.status, 200);
    const { scenarios } = await res.json();
    assert.equal(scenarios[0].seen['x-gatehouse-organization'], undefined);
    assert.equal(scenarios[0].seen['x-gatehouse-user'], String(gh.admin.userId));
});

test('without scenarios:read the SDK gets Make\'s error through nginx', { skip: skipNginx }, async () => {
    const token = await gh.cli(['token', 'create', '--user', gh.admin.email, '--label', 'teams only', '--scope', 'teams:read']);
    await assert.rejects(throughNginx(token).scenarios.list(gh.admin.teamId), (error) => {
        assert.ok(error instanceof MakeError, `${error}`);
        assert.equal(error.statusCode, 401);
        assert.match(error.message, /lacks the scope scenarios:read, which GET \/api\/v2\/scenarios requires/);
        return true;
    });
});

test('no credential is 401 with Make\'s body and the challenge, through nginx', { skip: skipNginx }, async () => {
    const res = await fetch(`http://127.0.0.1:${nginxPort}/api/v2/scenarios?teamId=1`);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Token realm="gatehouse"/);
    const body = await res.json();
    assert.equal(body.code, 'SC401');
    assert.match(body.detail, /Authentication is required/);
});

test('a route outside the policy is 403 through nginx', { skip: skipNginx }, async () => {
    const token = await gh.cli(['token', 'create', '--user', gh.admin.email, '--label', 'everything', '--scope', 'scenarios:read']);
    const res = await fetch(`http://127.0.0.1:${nginxPort}/api/internal/metrics`, { headers: { authorization: `Token ${token}` } });
    assert.equal(res.status, 403);
    assert.equal((await res.json()).code, 'SC403');
});

test('Traefik\'s X-Forwarded-* convention, against the binary', async () => {
    const token = await gh.cli(['token', 'create', '--user', gh.admin.email, '--label', 'traefik', '--scope', 'hooks:write']);
    const ask = (method, uri) =>
        fetch(`http://127.0.0.1:${gh.port}/forward-auth`, {
            headers: {
                authorization: `Token ${token}`,
                'x-forwarded-method': method,
                'x-forwarded-uri': uri,
                'x-forwarded-host': 'api.example.com',
                'x-forwarded-proto': 'https',
            },
        });
    const allowed = await ask('POST', '/api/v2/hooks/12/set-data?x=1');
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get('x-gatehouse-scopes'), 'hooks:write');
    assert.equal(allowed.headers.get('x-gatehouse-token-label'), 'traefik');
    const refused = await ask('GET', '/api/v2/hooks');
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).code, 'SC401');
});

test('the built-in policy is exactly what the SDK calls (scripts/make-policy.mjs)', () => {
    const generated = execFileSync(process.execPath, [path.join(REPO, 'scripts/make-policy.mjs')], { cwd: HERE, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const embedded = readFileSync(path.join(REPO, 'crates/domain/src/policy/make-default.toml'), 'utf8');
    assert.equal(embedded.trim(), generated.trim(), 'regenerate crates/domain/src/policy/make-default.toml');
});
