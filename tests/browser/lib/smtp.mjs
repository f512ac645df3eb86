// A real SMTP server on loopback for the email tests: Python's aiosmtpd (lib/smtp_sink.py), which writes
// every message it accepts to a temporary directory as JSON with its bodies already decoded.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const SINK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'smtp_sink.py');
const STARTUP_TIMEOUT_MS = 10_000;

/**
 * Starts the sink. Resolves to {port, url ('smtp://127.0.0.1:PORT'), messages(), waitForMessage(to, ms),
 * stop()}.
 */
export async function startSmtpSink() {
    const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-smtp-'));
    const child = spawn('python3', [SINK, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const killOnExit = () => child.kill('SIGKILL');
    process.on('exit', killOnExit);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const exited = new Promise((resolve) => child.on('exit', resolve));

    async function stop() {
        child.kill('SIGTERM');
        await exited;
        process.off('exit', killOnExit);
        rmSync(dir, { recursive: true, force: true });
    }

    const port = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the SMTP sink did not start:\n${stderr}`)), STARTUP_TIMEOUT_MS);
        child.stdout.on('data', () => {
            const match = /listening (\d+)/.exec(stdout);
            if (match) {
                clearTimeout(timer);
                resolve(Number(match[1]));
            }
        });
        child.on('error', (error) => reject(new Error(`cannot run python3 ${SINK}: ${error.message}`)));
        exited.then((code) => {
            clearTimeout(timer);
            reject(new Error(`the SMTP sink exited (${code}); is aiosmtpd installed (pip install aiosmtpd)?\n${stderr}`));
        });
    }).catch(async (error) => {
        await stop();
        throw error;
    });

    /** Every message received so far, oldest first. */
    function messages() {
        return readdirSync(dir)
            .filter((name) => name.endsWith('.json'))
            .sort()
            .map((name) => JSON.parse(readFileSync(path.join(dir, name), 'utf8')));
    }

    /** The first message to `recipient` (polling), or an error naming what did arrive. */
    async function waitForMessage(recipient, timeoutMs = 10_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const found = messages().find((message) => message.rcptTos.includes(recipient));
            if (found) return found;
            if (Date.now() > deadline) {
                const seen = messages().map((m) => `${m.rcptTos.join(',')}: ${m.subject}`);
                throw new Error(`no email to ${recipient} within ${timeoutMs} ms; received: ${JSON.stringify(seen)}`);
            }
            await sleep(100);
        }
    }

    return { port, url: `smtp://127.0.0.1:${port}`, messages, waitForMessage, stop };
}
