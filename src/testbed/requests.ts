/**
 * Request/response traffic between testbed namespaces (request-worker.ts): a
 * line server, and the tenant RTT as a user sees it (TCP handshake and one
 * request/response over many fresh connections, each a new tunnel flow).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PathsteerError } from '../common/errors.js';
import { repoRoot } from './paths.js';
import { alive, jsonLines, spawnHelper, stopHelper, type SpawnedHelper } from './processes.js';
import type { RttConfig } from './request-worker.js';

export function requestWorkerPath(): string {
  return join(repoRoot(), 'dist', 'src', 'testbed', 'request-worker.js');
}

/** A line server (`Q<n>` -> `A<n>`) on `port` inside `netns`; stop it with stopHelper. */
export async function startRequestServer(netns: string, port: number, log: string): Promise<SpawnedHelper> {
  const h = await spawnHelper(netns, [process.execPath, requestWorkerPath(), 'server', JSON.stringify({ port })], log);
  return { ...h, program: 'node' };
}

export interface TenantRtt {
  connections: number;
  failed: number;
  handshake_ms: { p50: number; mean: number; p90: number };
  request_ms: { p50: number; mean: number; p90: number };
}

function summary(xs: number[]): { p50: number; mean: number; p90: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : 0);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0;
  return { p50: at(0.5), mean: Math.round(mean * 100) / 100, p90: at(0.9) };
}

/** `connections` fresh TCP connections from `fromNetns` to dst:port, one after another. */
export async function measureTenantRtt(fromNetns: string, dst: string, port: number, connections: number, log: string): Promise<TenantRtt> {
  const cfg: RttConfig = { dst, port, connections, timeout_ms: 3000 };
  let h: SpawnedHelper | undefined = await spawnHelper(fromNetns, [process.execPath, requestWorkerPath(), 'rtt', JSON.stringify(cfg)], log);
  h = { ...h, program: 'node' };
  try {
    const deadline = Date.now() + connections * 3500 + 5000;
    while (alive(h.pid) && Date.now() < deadline) await sleep(100);
    const done = jsonLines(readFileSync(log, 'utf8')).find((j) => j.done === true) as
      | { handshake_ms: number[]; request_ms: number[]; failed: number }
      | undefined;
    if (!done) throw new PathsteerError(`the RTT client in ${fromNetns} did not finish: ${readFileSync(log, 'utf8').slice(-300)}`);
    return { connections, failed: done.failed, handshake_ms: summary(done.handshake_ms), request_ms: summary(done.request_ms) };
  } finally {
    await stopHelper(h, 1000).catch(() => undefined);
  }
}
