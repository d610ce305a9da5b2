// `npm run generate`: regenerate every generated file from its source of truth.
//  - bpf/vmlinux.h from the running kernel's BTF (never committed)
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
const root = new URL('..', import.meta.url).pathname;
rmSync(`${root}bpf/vmlinux.h`, { force: true });
execFileSync('make', ['-C', `${root}bpf`, 'vmlinux.h'], { stdio: 'inherit' });
