// Debian's Chromium driven by playwright-core (no Playwright browser download), plus the
// console-error filter: upstream noise from this JupyterLab/jupyter_server pairing is ignored,
// everything else fails the test.
import { chromium } from 'playwright-core';

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

// Known, harmless upstream messages (see ../../../shared notes, "Jupyter stack recipe" §4.2):
const NOISE = [
  /api\/me\b/, // jupyter_server 1.23 has no /api/me (404)
  /api\/events\/subscribe/, // nor the event bus (404)
  /Failed to load resource: the server responded with a status of 404/, // the two 404s above, as Chromium reports them
  /favicon/,
];

/** Collects console errors and page errors that are not known upstream noise. */
export function collectErrors(page) {
  const errors = [];
  const keep = (text) => !NOISE.some((re) => re.test(text));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && keep(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => {
    const text = `${err.message}\n${err.stack ?? ''}`;
    if (keep(text)) errors.push(`pageerror: ${err.message}`);
  });
  return errors;
}

/** A tiny test runner that prints "N passed, M failed" like the rest of the CI. */
export function runner(name) {
  const results = [];
  return {
    async test(title, fn) {
      const t0 = Date.now();
      try {
        await fn();
        results.push(true);
        console.log(`  ok   ${title} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      } catch (err) {
        results.push(false);
        console.log(
          `  FAIL ${title}\n       ${String(err?.stack ?? err)
            .split('\n')
            .slice(0, 6)
            .join('\n       ')}`,
        );
      }
    },
    summary() {
      const passed = results.filter(Boolean).length;
      const failed = results.length - passed;
      console.log(`${name}: ${passed} passed, ${failed} failed`);
      return { passed, failed };
    },
  };
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

export function assertEqual(actual, expected, what) {
  if (actual !== expected)
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
