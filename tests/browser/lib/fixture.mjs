// One fresh world per test: its own gatehouse (fresh SQLite, free port), optionally its own SMTP sink, and
// its own Chromium. Everything is stopped whatever the test's outcome.

import { launchBrowser } from './console.mjs';
import { startGatehouse } from './server.mjs';
import { startSmtpSink } from './smtp.mjs';

export const TEST_OPTIONS = { timeout: 120_000 };

/** Runs `body({gh, browser, smtp})`; `smtp: true` starts a sink and passes `--smtp-url` to serve. */
export async function withWorld({ smtp: wantSmtp = false, args = [] } = {}, body) {
    const cleanups = [];
    try {
        let smtp = null;
        if (wantSmtp) {
            smtp = await startSmtpSink();
            cleanups.push(() => smtp.stop());
        }
        const serveArgs = smtp ? ['--smtp-url', smtp.url, ...args] : args;
        const gh = await startGatehouse({ args: serveArgs });
        cleanups.push(() => gh.stop());
        const browser = await launchBrowser();
        cleanups.push(() => browser.close());
        await body({ gh, browser, smtp });
    } finally {
        for (const cleanup of cleanups.reverse()) {
            try {
                await cleanup();
            } catch (error) {
                console.error(`cleanup failed: ${error.message}`);
            }
        }
    }
}
