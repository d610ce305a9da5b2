/**
 * conn_stats (bpf/conn_stats.bpf.c) for one network namespace: load it
 * sharing altpath_dscp's maps (so it tells a connection's DSCP with the live
 * AltPath configuration), write ps_conn_config, attach it to the
 * sock/inet_sock_set_state tracepoint, and read ps_conn_events records as
 * ConnEvents. Unlike the TC program it lives only as long as this object: a
 * sampler that is gone has nobody to read the ring buffer.
 */
import { statSync } from 'node:fs';
import { UsageError } from '../common/errors.js';
import { BpfObject, RingBuffer, type BpfLink, type BpfMap } from '../loader/index.js';
import { ConnConfigCodec, type ConnConfig } from './conn-config.js';
import { ConnEventCodec, type ConnEvent } from './conn-event.js';
import { MapName, ProgName } from './names.generated.js';
import { objectPath } from './objects.js';
import { U32Codec } from './scalar.js';
import { TypedMap } from './typed-map.js';

/** Edge Fabric's figures: 1 in 1000 connections, 100x for AltPath-marked ones. */
export const DEFAULT_SAMPLE_RATE = 1000;
export const DEFAULT_MARKED_MULTIPLIER = 100;

/** Inode of this process's network namespace (what ps_conn_config.netns_ino compares). */
export function ownNetnsInode(path = '/proc/self/ns/net'): number {
  return statSync(path).ino;
}

export interface ConnStatsOptions {
  /** ps_altpath, ps_altpath_exclude and ps_altpath_stats to share (AltpathTables.maps()). */
  altpathMaps: ReadonlyArray<[string, BpfMap]>;
  /** N: sample 1 in N connections. @default 1000 */
  sampleRate?: number;
  /** M: AltPath-marked connections are sampled M in N. @default 100 */
  markedMultiplier?: number;
  /** Watch this network namespace (inode; tests pass another namespace's). @default this process's */
  netnsIno?: number;
}

export function checkConnConfig(c: Pick<ConnConfig, 'sampleRate' | 'markedMultiplier'>): void {
  if (!Number.isInteger(c.sampleRate) || c.sampleRate < 1 || c.sampleRate > 0xffff_ffff) {
    throw new UsageError(`sample rate must be an integer N >= 1 (1 in N connections), got ${c.sampleRate}`);
  }
  if (!Number.isInteger(c.markedMultiplier) || c.markedMultiplier < 1 || c.markedMultiplier > 0xffff_ffff) {
    throw new UsageError(`marked multiplier must be an integer >= 1, got ${c.markedMultiplier}`);
  }
}

export class ConnStats {
  readonly config: TypedMap<number, ConnConfig>;
  private readonly pending: ConnEvent[] = [];
  private readonly rb: RingBuffer;
  private link: BpfLink | undefined;
  private closed = false;

  private constructor(
    private readonly obj: BpfObject,
    netnsIno: number,
    c: Pick<ConnConfig, 'sampleRate' | 'markedMultiplier'>,
  ) {
    this.config = new TypedMap(obj.map(MapName.connConfig), U32Codec, ConnConfigCodec);
    this.config.set(0, { ...c, netnsIno, flags: 0 });
    this.rb = new RingBuffer(obj.map(MapName.connEvents), (rec) => {
      this.pending.push(ConnEventCodec.decode(rec));
    });
  }

  /** Load conn_stats, configure it and attach it to the tracepoint. */
  static attach(o: ConnStatsOptions): ConnStats {
    const c = { sampleRate: o.sampleRate ?? DEFAULT_SAMPLE_RATE, markedMultiplier: o.markedMultiplier ?? DEFAULT_MARKED_MULTIPLIER };
    checkConnConfig(c);
    const obj = BpfObject.open(objectPath('connStats'));
    let cs: ConnStats | undefined;
    try {
      for (const [name, map] of o.altpathMaps) obj.reuseMap(name, map);
      obj.load();
      cs = new ConnStats(obj, o.netnsIno ?? ownNetnsInode(), c);
      cs.link = obj.attach(ProgName.connStats);
      return cs;
    } catch (e) {
      if (cs) cs.close();
      else obj.close();
      throw e;
    }
  }

  /** Change N and M while attached. */
  setSampling(c: Pick<ConnConfig, 'sampleRate' | 'markedMultiplier'>): void {
    checkConnConfig(c);
    const cur = this.config.get(0)!;
    this.config.set(0, { ...cur, ...c });
  }

  /** Every record available now, decoded (never blocks). */
  drain(): ConnEvent[] {
    if (this.closed) return [];
    this.rb.consume();
    return this.pending.splice(0);
  }

  /** Detach from the tracepoint, free the ring buffer and the object. Safe twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.link?.destroy();
    } finally {
      this.rb.close();
      this.obj.close();
    }
  }
}
