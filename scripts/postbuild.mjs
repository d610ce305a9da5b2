// Make the built CLI executable (npm link / bin shims need the mode bit).
import { chmodSync, existsSync } from 'node:fs';
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (existsSync(main)) chmodSync(main, 0o755);
