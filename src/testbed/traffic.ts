/**
 * Tenant traffic with the outage meter: starts a receiver and a sender
 * (traffic-worker.js) inside the endpoints' namespaces as child processes,
 * drives them over stdio, and ends them by their PIDs. The result schema and
 * the definitions of "outage" and "affected" are in meter.ts and README.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PathsteerError, UsageError } from '../common/errors.js';
import { buildTrafficResult, type FlowResult, type SenderFlowReport, type TrafficResult } from './meter.js';
import { nsenterArgv } from './netns.js';
import { trafficWorkerPath } from './paths.js';
import { resolveEndpoint, type TenantEndpoint, type TopologyPlan } from './topology.js';

export interface TrafficOptions {
  /** Sending endpoint: a VM name, or a host name in local-tenant mode. */
  from: string;
  /** Receiving endpoint. */
  to: string;
  /** Concurrent flows (distinct 5-tuples). @default 8 */
  flows?: number;
  /** Packets (UDP) or records (TCP) per second per flow. @default 1000 */
  ratePps?: number;
  /** Seconds of sending. @default 5 */
  durationS?: number;
  /** @default 'udp' */
  protocol?: 'udp' | 'tcp';
  /** Receiver port (UDP flow f uses port + f). @default 47000 */
  port?: number;
  /** UDP datagram size in bytes (>= 32). @default 64 */
  size?: number;
  /** TCP hold-ups shorter than this are scheduling noise, not outages (TCP's minimum RTO is 200 ms). @default 150 */
  stallMs?: number;
  /** How long to wait after sending for data still in flight. @default 300 (UDP), 5000 (TCP) */
  drainMs?: number;
  /** Stops the run (children are killed) when aborted. */
  signal?: AbortSignal;
}

/** Tenant traffic in the words users give it (`testbed traffic` flags, experiment `traffic`). */
export interface TrafficWords {
  from: string;
  to: string;
  flows: number;
  rate: number;
  duration: number;
  protocol: 'udp' | 'tcp';
  port?: number | undefined;
  size?: number | undefined;
  stallMs?: number | undefined;
}

/** The TrafficOptions those words ask for (optional ones only when given). */
export function trafficOptions(w: TrafficWords): TrafficOptions {
  return {
    from: w.from,
    to: w.to,
    flows: w.flows,
    ratePps: w.rate,
    durationS: w.duration,
    protocol: w.protocol,
    ...(w.port !== undefined ? { port: w.port } : {}),
    ...(w.size !== undefined ? { size: w.size } : {}),
    ...(w.stallMs !== undefined ? { stallMs: w.stallMs } : {}),
  };
}

export interface TrafficRun {
  /** CLOCK_MONOTONIC ns at which sending started (t=0). */
  started: Promise<bigint>;
  result: Promise<TrafficResult>;
  /** Kill both workers now. */
  kill(): void;
}

interface Worker {
  child: ChildProcess;
  next(pred: (m: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>>;
  send(m: unknown): void;
  stderr(): string;
}

function startWorker(netns: string, mode: 'send' | 'recv', config: unknown): Worker {
  const argv = nsenterArgv(netns, [process.execPath, trafficWorkerPath(), mode, JSON.stringify(config)]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  const queue: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let err = '';
  let exited = false;
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()).length > 8192 && (err = err.slice(-8192)));
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      queue.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      err += `${l}\n`;
    }
    waiters.splice(0).forEach((w) => w());
  });
  child.on('exit', () => {
    exited = true;
    waiters.splice(0).forEach((w) => w());
  });
  child.on('error', (e) => {
    err += String(e);
    exited = true;
    waiters.splice(0).forEach((w) => w());
  });
  child.stdin!.on('error', () => undefined);
  return {
    child,
    stderr: () => err,
    send: (m) => {
      if (!exited) child.stdin!.write(`${JSON.stringify(m)}\n`);
    },
    async next(pred, timeoutMs, what) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = queue.findIndex(pred);
        if (i >= 0) return queue.splice(i, 1)[0]!;
        if (exited) throw new PathsteerError(`traffic ${mode}er in ${netns} exited before ${what}: ${err.trim() || '(no output)'}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new PathsteerError(`traffic ${mode}er in ${netns}: timed out waiting for ${what}`);
        await new Promise<void>((res) => {
          const t = setTimeout(res, left);
          waiters.push(() => {
            clearTimeout(t);
            res();
          });
        });
      }
    },
  };
}

function validate(o: TrafficOptions): Required<Omit<TrafficOptions, 'signal' | 'drainMs'>> & { drainMs: number } {
  const flows = o.flows ?? 8;
  const ratePps = o.ratePps ?? 1000;
  const durationS = o.durationS ?? 5;
  const protocol = o.protocol ?? 'udp';
  const port = o.port ?? 47_000;
  const size = o.size ?? 64;
  const stallMs = o.stallMs ?? 150;
  if (!Number.isInteger(flows) || flows < 1 || flows > 1024) throw new UsageError(`--flows must be 1..1024, got ${flows}`);
  if (!(ratePps > 0 && ratePps <= 100_000)) throw new UsageError(`--rate must be in (0, 100000] pps per flow, got ${ratePps}`);
  if (!(durationS > 0 && durationS <= 3600)) throw new UsageError(`--duration must be in (0, 3600] s, got ${durationS}`);
  if (flows * ratePps > 200_000) throw new UsageError(`${flows} flows x ${ratePps} pps exceeds the 200 kpps a worker can send`);
  if (!Number.isInteger(port) || port < 1024 || port + flows > 65535) throw new UsageError(`--port must leave room for ${flows} ports below 65536`);
  if (!Number.isInteger(size) || size < 32 || size > 1400) throw new UsageError(`--size must be 32..1400 bytes, got ${size}`);
  if (!(stallMs >= 0)) throw new UsageError(`--stall-ms must be >= 0`);
  const drainMs = o.drainMs ?? (protocol === 'udp' ? 300 : 5000);
  return { from: o.from, to: o.to, flows, ratePps, durationS, protocol, port, size, stallMs, drainMs };
}

/** Start a traffic run; `started` resolves at t=0, `result` at the end. */
export function startTraffic(plan: TopologyPlan, localTenant: boolean, opts: TrafficOptions): TrafficRun {
  validate(opts);
  return startTrafficBetween(resolveEndpoint(plan, opts.from, localTenant), resolveEndpoint(plan, opts.to, localTenant), opts);
}

/** A tenant endpoint by namespace and address (any namespaces, not only a testbed's). */
export type TrafficEndpoint = Pick<TenantEndpoint, 'name' | 'netns' | 'ip'>;

/** Start a traffic run between two namespaces (`from`/`to` in opts only name them). */
export function startTrafficBetween(src: TrafficEndpoint, dst: TrafficEndpoint, opts: TrafficOptions): TrafficRun {
  const o = validate(opts);
  if (src.netns === dst.netns) throw new UsageError('--from and --to must be different endpoints');
  const runId = Math.floor(Math.random() * 0xffffffff) >>> 0;
  const intervalNs = 1e9 / o.ratePps;
  const workers: Worker[] = [];
  const kill = (): void => {
    for (const w of workers) if (w.child.exitCode === null && w.child.pid) w.child.kill('SIGKILL');
  };
  let resolveStart!: (t: bigint) => void;
  let rejectStart!: (e: unknown) => void;
  const started = new Promise<bigint>((res, rej) => {
    resolveStart = res;
    rejectStart = rej;
  });
  started.catch(() => undefined);
  const onAbort = (): void => kill();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const result = (async (): Promise<TrafficResult> => {
    try {
      const recv = startWorker(dst.netns, 'recv', { proto: o.protocol, port: o.port, flows: o.flows, run_id: runId });
      workers.push(recv);
      await recv.next((m) => m.ready === true, 15_000, 'ready');
      const send = startWorker(src.netns, 'send', {
        proto: o.protocol,
        dst: dst.ip,
        port: o.port,
        flows: o.flows,
        rate: o.ratePps,
        duration_s: o.durationS,
        run_id: runId,
        size: o.size,
      });
      workers.push(send);
      await send.next((m) => m.ready === true, 15_000, 'connections');
      recv.send({ config: { stall_ms: o.stallMs, interval_ns: intervalNs } });
      send.send({ start: true });
      const st = await send.next((m) => m.started === true, 10_000, 'start');
      const t0 = BigInt(String(st.t0_ns));
      resolveStart(t0);
      const done = await send.next((m) => m.done === true, o.durationS * 1000 + 30_000, 'end of sending');
      const sender = done.flows as SenderFlowReport[];
      recv.send({ stop: true, sender, drain_ms: o.drainMs });
      const res = await recv.next((m) => Array.isArray(m.result), o.drainMs + 30_000, 'results');
      send.send({ exit: true });
      const perFlow = res.result as FlowResult[];
      return buildTrafficResult(
        {
          protocol: o.protocol,
          from: { name: src.name, ip: src.ip },
          to: { name: dst.name, ip: dst.ip },
          rate_pps: o.ratePps,
          duration_s: o.durationS,
          interval_ms: intervalNs / 1e6,
          stall_ms: o.stallMs,
          t0_ns: t0.toString(),
        },
        perFlow,
      );
    } catch (e) {
      rejectStart(e);
      if (opts.signal?.aborted) throw new PathsteerError('traffic run aborted', { cause: e });
      throw e;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      // Give workers a moment to exit on their own, then end them by PID.
      await new Promise((r) => setTimeout(r, 50));
      kill();
    }
  })();
  return { started, result, kill };
}

/** Run traffic to the end and return the meter's result. */
export async function runTraffic(plan: TopologyPlan, localTenant: boolean, opts: TrafficOptions): Promise<TrafficResult> {
  return startTraffic(plan, localTenant, opts).result;
}
