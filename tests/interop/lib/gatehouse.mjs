// Starts and stops the REAL `gatehouse` binary for interoperability tests.
//
// Each call to startGatehouse() gets its own temporary directory and a fresh SQLite database, so every
// test file starts from an empty store and sees the first-start administrator printed on stdout.
//
// Binary: $GATEHOUSE_BIN, else <repo>/target/debug/gatehouse (i.e. ../../target/debug/gatehouse seen
// from tests/interop/, which is ../../../target/debug/gatehouse seen from this lib/ file).

import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ZONE = 'interop.local';

const STARTUP_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const CLI_TIMEOUT_MS = 30_000;

const INTEROP_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

export const GATEHOUSE_BIN = process.env.GATEHOUSE_BIN
    ? path.resolve(process.env.GATEHOUSE_BIN)
    : path.resolve(INTEROP_DIR, '../../target/debug/gatehouse');

const LISTENING_RE = /gatehouse listening on http:\/\/127\.0\.0\.1:(\d+)/;
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*m/g;

// Every server child still running, and every temp dir not yet removed, so that nothing outlives the
// test process even when it is interrupted before the `after` hooks run.
const live = new Set();
const dirs = new Set();

function killAllSync() {
    for (const child of live) {
        try {
            child.kill('SIGKILL');
        } catch {
            // already gone
        }
    }
    live.clear();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    dirs.clear();
}

process.on('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
        killAllSync();
        process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 })[signal]);
    });
}

function checkBinary() {
    try {
        accessSync(GATEHOUSE_BIN, fsConstants.X_OK);
    } catch {
        throw new Error(
            `gatehouse binary not found or not executable at ${GATEHOUSE_BIN}. ` +
                'Build it with `cd /work/main && cargo build`, or set GATEHOUSE_BIN.',
        );
    }
}

/** Environment for the binary: inherited, minus GATEHOUSE_* settings that could override the test's. */
function childEnv() {
    const env = { ...process.env };
    for (const key of Object.keys(env)) {
        if (key.startsWith('GATEHOUSE_') && key !== 'GATEHOUSE_LOG') delete env[key];
    }
    // The signing keys are encrypted at rest under an operator's secrets key: the interop suite's own.
    env.GATEHOUSE_SECRETS_KEY = 'interop-only-secrets-key-not-for-production-0123456789';
    return env;
}

function tail(text, lines = 30) {
    return text.replace(ANSI_RE, '').trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Runs a gatehouse CLI command against `databaseUrl`, with `--zone interop.local`.
 * Resolves to trimmed stdout; rejects with stderr when the command fails.
 */
export function runCli(databaseUrl, args, { input = '', json = false } = {}) {
    checkBinary();
    const argv = [...args, '--database', databaseUrl, '--zone', ZONE];
    if (json) argv.push('--json');
    return new Promise((resolve, reject) => {
        const child = spawn(GATEHOUSE_BIN, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv() });
        let stdout = '';
        let stderr = '';
        const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
        child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
        child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
        child.on('error', (error) => {
            clearTimeout(timer);
            reject(error);
        });
        child.on('close', (code, signal) => {
            clearTimeout(timer);
            if (code === 0) {
                const out = stdout.trim();
                resolve(json ? JSON.parse(out) : out);
            } else {
                reject(
                    new Error(
                        `gatehouse ${args.join(' ')} failed (exit ${code ?? signal}):\n${tail(stderr)}`,
                    ),
                );
            }
        });
        child.stdin.on('error', () => {}); // the command may not read stdin
        child.stdin.end(input);
    });
}

/**
 * Starts `gatehouse serve` on a free loopback port with a fresh database.
 *
 * Resolves to {
 *   port, host ('127.0.0.1:PORT', the SDK's zone argument), baseUrl ('http://127.0.0.1:PORT/api/v2'),
 *   dir, databaseUrl, admin ({email,password,token,userId,organizationId,teamId}),
 *   cli(args, opts), stop(), stderr()
 * }
 * `args` are extra `gatehouse serve` flags (e.g. OAuth settings).
 */
export async function startGatehouse({ args = [] } = {}) {
    checkBinary();
    const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-interop-'));
    dirs.add(dir);
    const databaseUrl = `sqlite://${dir}/gh.db`;
    const child = spawn(
        GATEHOUSE_BIN,
        ['serve', '--listen', '127.0.0.1:0', '--database', databaseUrl, '--zone', ZONE, '--json', ...args],
        { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() },
    );
    live.add(child);

    let stdout = '';
    let stderr = '';
    let exited = null; // {code, signal} once the process is gone
    const exitPromise = new Promise((resolve) => {
        child.on('exit', (code, signal) => {
            exited = { code, signal };
            live.delete(child);
            resolve(exited);
        });
    });
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));

    let stopped = false;
    async function stop() {
        if (stopped) return exitPromise;
        stopped = true;
        if (!exited) {
            child.kill('SIGTERM');
            let timer;
            const timedOut = await Promise.race([
                exitPromise.then(() => false),
                new Promise((resolve) => {
                    timer = setTimeout(resolve, STOP_TIMEOUT_MS, true);
                }),
            ]);
            clearTimeout(timer);
            if (timedOut && !exited) {
                child.kill('SIGKILL');
                await exitPromise;
            }
        }
        rmSync(dir, { recursive: true, force: true });
        dirs.delete(dir);
        return exited;
    }

    try {
        const { port, admin } = await new Promise((resolve, reject) => {
            const timer = setTimeout(
                () =>
                    reject(
                        new Error(
                            `gatehouse did not log "gatehouse listening on http://127.0.0.1:PORT" within ` +
                                `${STARTUP_TIMEOUT_MS / 1000} s.\nstdout:\n${tail(stdout)}\nstderr:\n${tail(stderr)}`,
                        ),
                    ),
                STARTUP_TIMEOUT_MS,
            );
            const check = () => {
                const match = LISTENING_RE.exec(stderr.replace(ANSI_RE, ''));
                const firstLine = stdout.split('\n')[0];
                if (!match || !stdout.includes('\n')) return;
                clearTimeout(timer);
                let admin;
                try {
                    admin = JSON.parse(firstLine);
                } catch (error) {
                    reject(new Error(`first stdout line is not JSON: ${JSON.stringify(firstLine)} (${error.message})`));
                    return;
                }
                resolve({ port: Number(match[1]), admin });
            };
            child.stdout.on('data', check);
            child.stderr.on('data', check);
            child.on('error', (error) => {
                clearTimeout(timer);
                reject(new Error(`cannot start ${GATEHOUSE_BIN}: ${error.message}`));
            });
            exitPromise.then(({ code, signal }) => {
                clearTimeout(timer);
                reject(new Error(`gatehouse serve exited during startup (exit ${code ?? signal}):\n${tail(stderr)}`));
            });
        });
        for (const key of ['email', 'password', 'token', 'userId', 'organizationId', 'teamId']) {
            if (!(key in admin)) throw new Error(`first-start JSON lacks "${key}": ${JSON.stringify(admin)}`);
        }
        return {
            port,
            host: `127.0.0.1:${port}`,
            baseUrl: `http://127.0.0.1:${port}/api/v2`,
            dir,
            databaseUrl,
            zone: ZONE,
            admin,
            cli: (args, options) => runCli(databaseUrl, args, options),
            stop,
            stderr: () => stderr,
            get exited() {
                return exited;
            },
        };
    } catch (error) {
        await stop();
        throw error;
    }
}
