// Make the built CLI executable (npm link / bin shims need the mode bit) and
// copy the controller's dashboard assets (plain HTML/JS/CSS) next to its build.
import { chmodSync, cpSync, existsSync } from 'node:fs';
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (existsSync(main)) chmodSync(main, 0o755);
const dash = new URL('../src/controller/dashboard/', import.meta.url);
if (existsSync(dash)) cpSync(dash, new URL('../dist/src/controller/dashboard/', import.meta.url), { recursive: true });
