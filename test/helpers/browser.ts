// A real browser for the page of `neutrino web`: Playwright (playwright-core, no browser download)
// driving Debian's chromium, headless. Screenshots go to test-results/web/ as the tests' artifacts.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium as playwright, type Browser } from 'playwright-core';

/** The chromium the install script puts on the machine, or null. */
export function findChromium(): string | null {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
    } catch {
      /* not this one */
    }
  }
  return null;
}

export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results', 'web');

/** A headless chromium, closed after the test. --no-sandbox: the tests run as root, where chromium's sandbox refuses to start. */
export async function launchBrowser(t: { after: (f: () => Promise<void>) => void }): Promise<Browser> {
  const browser = await playwright.launch({ executablePath: findChromium()!, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  mkdirSync(ARTIFACTS, { recursive: true });
  return browser;
}
