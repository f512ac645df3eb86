#!/usr/bin/env node
// Revocation propagation between two Gatehouse nodes on one store: a token is deleted on node A, and we
// time how long node B keeps accepting it. Repeats N times and prints min / p50 / p99 / max.
//
//   node bench/revocation-propagation.mjs [--database URL] [--rounds N]
//
// Default store: a fresh PostgreSQL schema in postgres://postgres@127.0.0.1:5432/test (NOTIFY + polling).
// With --database sqlite://PATH the two nodes share a SQLite file (polling only).
// Loopback only; bounded rounds; both nodes are stopped at the end.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.GATEHOUSE_BIN ?? resolve(here, '../target/release/gatehouse');
const args = process.argv.slice(2);
const option = (name, fallback) => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : fallback;
};
const rounds = Number(option('--rounds', '50'));
const dir = mkdtempSync(join(tmpdir(), 'gh-revocation-'));
let database = option('--database', null);
if (!database) {
    const schema = `gh_bench_${randomUUID().replaceAll('-', '')}`;
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-qc', `CREATE SCHEMA ${schema}`]);
    database = `postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3D${schema}`;
}

function serve(extra) {
    return new Promise((resolveNode, reject) => {
        const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--database', database, '--zone', 'bench.local', ...extra], {
            env: { ...process.env, GATEHOUSE_LOG: 'warn,gatehouse=info' },
        });
        let stdout = '';
        child.stdout.on('data', (chunk) => (stdout += chunk));
        child.stderr.on('data', (chunk) => {
            const match = /gatehouse listening on (http:\/\/[0-9.:]+)/.exec(String(chunk));
            if (match) setTimeout(() => resolveNode({ child, base: match[1], stdout }), 100);
        });
        child.on('exit', (code) => reject(new Error(`node exited with ${code}`)));
        setTimeout(() => reject(new Error('node did not start')), 30000);
    });
}

const call = async (base, method, path, token, body) => {
    const response = await fetch(base + path, {
        method,
        headers: { authorization: `Token ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: await response.json() };
};

const a = await serve(['--json']);
const b = await serve([]);
const admin = JSON.parse(a.stdout.trim().split('\n')[0]).token;
const samples = [];
try {
    for (let round = 0; round < rounds; round++) {
        const created = (await call(a.base, 'POST', '/api/v2/users/me/api-tokens', admin, { label: `r${round}`, scope: [] })).body.apiToken;
        if ((await call(b.base, 'GET', '/api/v2/users/me', created.token)).status !== 200) throw new Error('B refused a live token');
        // A random pause, so deletions do not lock onto B's poll phase (each round would otherwise start just
        // after B's last poll and always wait a full interval).
        await new Promise((done) => setTimeout(done, Math.random() * 300));
        const deleted = await call(a.base, 'DELETE', `/api/v2/users/me/api-tokens/${created.created}`, admin);
        if (deleted.status !== 200) throw new Error(`delete failed: ${deleted.status}`);
        const start = performance.now();
        for (;;) {
            if ((await call(b.base, 'GET', '/api/v2/users/me', created.token)).status === 401) break;
            if (performance.now() - start > 10000) throw new Error('B still accepts the token after 10 s');
        }
        samples.push(performance.now() - start);
    }
} finally {
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
}
samples.sort((x, y) => x - y);
const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))].toFixed(1);
const backend = database.startsWith('postgres') ? 'postgres (NOTIFY + 250 ms poll)' : 'sqlite (250 ms poll)';
console.log(`revocation propagation A -> B, ${backend}, ${rounds} rounds: min ${samples[0].toFixed(1)} ms, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${samples.at(-1).toFixed(1)} ms`);
