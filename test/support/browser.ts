/** Headless Debian chromium for browser tests (bench/browser.ts, shared with `pathsteer bench fleet`). */
export { CHROMIUM, launchChromium, type LaunchedBrowser } from '../../bench/browser.js';
