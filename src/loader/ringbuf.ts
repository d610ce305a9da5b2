/**
 * Ring buffer consumption (libbpf ring_buffer__new/poll/consume) with a koffi
 * registered callback: every record is copied into a Buffer and handed to the
 * JS callback on the calling thread. poll() blocks the thread for at most
 * timeoutMs; consume() never blocks, so an event loop can call it on a timer.
 */
import koffi from 'koffi';
import { BpfError } from './errors.js';
import { checkPtr, libbpf, sampleFnPointerType, type Ptr } from './libbpf.js';
import type { BpfMap } from './map.js';
import { MapType } from './map.js';

/** Return `false` to stop the current poll/consume after this record. */
export type RecordHandler = (record: Buffer) => boolean | void;

export class RingBuffer {
  private rb: Ptr | null;
  private cb: koffi.IKoffiRegisteredCallback | null;
  private error: unknown;
  private stopped = false;

  constructor(map: BpfMap, handler: RecordHandler) {
    if (map.type !== MapType.RINGBUF) throw new BpfError(`ring_buffer__new ${map.name}: not a ring buffer map`, 22);
    this.cb = koffi.register(
      (_ctx: unknown, data: unknown, size: number | bigint): number => {
        try {
          const record = Buffer.from(koffi.view(data, Number(size))); // copy: the slot is reused
          if (handler(record) === false) {
            this.stopped = true;
            return -125; // -ECANCELED: libbpf stops and returns it
          }
          return 0;
        } catch (e) {
          this.error ??= e;
          return -1;
        }
      },
      sampleFnPointerType() as koffi.IKoffiCType,
    );
    try {
      this.rb = checkPtr(`ring_buffer__new ${map.name}`, libbpf().ring_buffer__new(map.fd, this.cb, null, null));
    } catch (e) {
      koffi.unregister(this.cb);
      this.cb = null;
      throw e;
    }
  }

  private handle(): Ptr {
    if (!this.rb) throw new BpfError('ring_buffer: closed', 9);
    return this.rb;
  }

  /** Rethrow a handler's exception; true when the handler asked to stop. */
  private settle(): boolean {
    const stopped = this.stopped;
    this.stopped = false;
    if (this.error !== undefined) {
      const e = this.error;
      this.error = undefined;
      throw e;
    }
    return stopped;
  }

  /** Wait up to timeoutMs for records and handle them; returns how many (0 after a stop). */
  poll(timeoutMs: number): number {
    const r = libbpf().ring_buffer__poll(this.handle(), timeoutMs) as number;
    if (this.settle()) return 0;
    if (r < 0 && r !== -4 /* EINTR */) throw new BpfError('ring_buffer__poll', -r);
    return Math.max(0, r);
  }

  /** Handle every record available now without waiting; returns how many. */
  consume(): number {
    const r = libbpf().ring_buffer__consume(this.handle()) as number;
    if (this.settle()) return 0;
    if (r < 0) throw new BpfError('ring_buffer__consume', -r);
    return r;
  }

  /** Free the ring buffer and the callback slot. Safe to call twice. */
  close(): void {
    if (this.rb) libbpf().ring_buffer__free(this.rb);
    this.rb = null;
    if (this.cb) koffi.unregister(this.cb);
    this.cb = null;
  }
}
