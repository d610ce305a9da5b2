/**
 * Debian's chromium through playwright-core (no browser download): headless,
 * no sandbox (root), nothing that reaches the network, a fresh profile per
 * launch. For the dashboard test and `pathsteer bench fleet`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { PathsteerError } from '../src/common/errors.js';

export const CHROMIUM = '/usr/bin/chromium';

export interface LaunchedBrowser {
  /** A persistent context on a fresh profile (--user-data-dir) that that ignores the dashboard's CSP so tests may evaluate code in the page. */
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(viewport = { width: 1400, height: 1800 }): Promise<LaunchedBrowser> {
  if (!existsSync(CHROMIUM)) throw new PathsteerError(`${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);
  let pw: typeof import('playwright-core');
  try {
    pw = await import('playwright-core');
  } catch {
    throw new PathsteerError('playwright-core is not installed (a development dependency: npm ci in the checkout)');
  }
  const profile = mkdtempSync(join(tmpdir(), 'ps-chromium-'));
  // a fresh --user-data-dir: playwright takes it as the persistent context's profile
  const context = await pw.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    bypassCSP: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
