/**
 * A real redis-server for tests and benchmarks: started on loopback with a free TCP port and a
 * Unix socket in a fresh temp dir (network namespaces reach it through the
 * socket: they share the file system), no persistence. Stopped, killed and
 * restarted (same port and socket) by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface TestRedis {
  /** redis://127.0.0.1:PORT */
  url: string;
  /** unix:///tmp/.../redis.sock */
  unixUrl: string;
  port: number;
  dir: string;
  readonly pid: number;
  /** SIGKILL (Redis vanishes as in a crash). */
  kill(): Promise<void>;
  /** Start again on the same port and socket (empty: no persistence). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    let buf = '';
    c.setTimeout(500, () => {
      c.destroy();
      resolve(false);
    });
    c.on('connect', () => c.write('PING\r\n'));
    c.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        c.destroy();
        resolve(buf.startsWith('+PONG'));
      }
    });
    c.on('error', () => resolve(false));
  });
}

export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'ps-redis-'));
  const sock = join(dir, 'redis.sock');
  let port = 0;
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (!port || attempt > 0) port = await freePort();
      const c = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--unixsocket', sock, '--unixsocketperm', '777', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'],
        { stdio: 'ignore' },
      );
      let exited = false;
      c.on('exit', () => (exited = true));
      const deadline = Date.now() + 5000;
      while (!exited && Date.now() < deadline) {
        if (await answers(port)) {
          child = c;
          return;
        }
        await sleep(20);
      }
      if (!exited) c.kill('SIGKILL');
    }
    throw new Error('redis-server did not start (is it installed? scripts/setup.sh installs it)');
  };
  const relaunchSamePort = async (): Promise<void> => {
    const c = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--unixsocket', sock, '--unixsocketperm', '777', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (await answers(port)) {
        child = c;
        return;
      }
      await sleep(20);
    }
    c.kill('SIGKILL');
    throw new Error(`redis-server did not restart on port ${port}`);
  };
  const waitExit = async (c: ChildProcess | undefined): Promise<void> => {
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((r) => c.once('exit', () => r()));
  };
  await launch();
  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    unixUrl: `unix://${sock}`,
    get port() {
      return port;
    },
    dir,
    get pid() {
      return child?.pid ?? 0;
    },
    async kill() {
      const c = child;
      c?.kill('SIGKILL');
      await waitExit(c);
      child = undefined;
    },
    async restart() {
      await relaunchSamePort();
    },
    async stop() {
      const c = child;
      c?.kill('SIGTERM');
      await waitExit(c);
      child = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
