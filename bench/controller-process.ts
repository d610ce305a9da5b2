/**
 * `pathsteer controller` as a separate process (the built CLI), as an operator
 * runs it: started on a free loopback port, ready once it printed its URL,
 * stopped with SIGTERM by PID. For the dashboard tests and `bench fleet`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PathsteerError } from '../src/common/errors.js';
import { repoRoot } from '../src/testbed/paths.js';

export interface ControllerProcess {
  url: string;
  pid: number;
  /** What it wrote to stderr (pino JSON lines). */
  log(): string;
  stop(): Promise<number | null>;
}

export async function startControllerProcess(redisUrl: string, extra: string[] = [], timeoutMs = 15_000): Promise<ControllerProcess> {
  const cli = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  const child: ChildProcess = spawn(process.execPath, [cli, 'controller', '--redis', redisUrl, '--listen', '127.0.0.1:0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new PathsteerError(`pathsteer controller did not become ready: ${err.slice(-500)}`));
    }, timeoutMs);
    const check = (): void => {
      const m = /"ready":true,"url":"([^"]+)"/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new PathsteerError(`pathsteer controller exited (${code}): ${err.trim().slice(-500)}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    log: () => err,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
