/**
 * The reflect data host agents put in their requests (DESIGN §3):
 * `{u16 probed_port; u8 port_idx; u8 pad; u32 process_id; u64 tx_ns}`, 16 bytes,
 * network byte order. The responder echoes it verbatim; the prober drops a
 * response whose process id is not its own (hot restart) and takes the RTT from
 * tx_ns.
 */
import { HOST_REFLECT_SIZE } from './constants.js';
import { BufferTooSmallError, InvalidFieldError, LengthMismatchError, ShortPacketError } from './errors.js';

export interface HostReflect {
  /** The source port the probe went out on. */
  probedPort: number;
  /** Its index in the peer's window. */
  portIdx: number;
  /** The prober's process id (u32). */
  processId: number;
  /** Send time, ns on the prober's monotonic clock. */
  txNs: bigint;
}

const OFF = { probedPort: 0, portIdx: 2, pad: 3, processId: 4, txNs: 8 } as const;

function check(field: string, v: unknown, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new InvalidFieldError(field, `${String(v)} is not an integer in 0..${max}`);
  }
}

export const HostReflectCodec = {
  size: HOST_REFLECT_SIZE,
  fields: [
    { name: 'probedPort', offset: OFF.probedPort, size: 2 },
    { name: 'portIdx', offset: OFF.portIdx, size: 1 },
    { name: 'pad', offset: OFF.pad, size: 1 },
    { name: 'processId', offset: OFF.processId, size: 4 },
    { name: 'txNs', offset: OFF.txNs, size: 8 },
  ],
  encodingLength(): number {
    return HOST_REFLECT_SIZE;
  },
  encode(v: HostReflect, buf?: Uint8Array, off = 0): Buffer {
    check('probedPort', v?.probedPort, 0xffff);
    check('portIdx', v.portIdx, 0xff);
    check('processId', v.processId, 0xffff_ffff);
    if (typeof v.txNs !== 'bigint' || v.txNs < 0n || v.txNs >= 1n << 64n) {
      throw new InvalidFieldError('txNs', 'expected a bigint in 0..2^64-1');
    }
    let b: Buffer;
    if (buf === undefined) b = Buffer.alloc(HOST_REFLECT_SIZE);
    else {
      b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
      if (!Number.isInteger(off) || off < 0 || off + HOST_REFLECT_SIZE > b.length) {
        throw new BufferTooSmallError(HOST_REFLECT_SIZE, off, b.length);
      }
    }
    b.writeUInt16BE(v.probedPort, off + OFF.probedPort);
    b[off + OFF.portIdx] = v.portIdx;
    b[off + OFF.pad] = 0;
    b.writeUInt32BE(v.processId, off + OFF.processId);
    b.writeBigUInt64BE(v.txNs, off + OFF.txNs);
    return b;
  },
  /**
   * Decode reflect data: exactly 16 bytes from `off` (a response carrying
   * anything else was not sent by a host agent).
   */
  decode(buf: Uint8Array, off = 0, len?: number): HostReflect {
    if (!(buf instanceof Uint8Array)) throw new InvalidFieldError('buffer', 'expected a Buffer or Uint8Array');
    const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (!Number.isInteger(off) || off < 0 || off > b.length) throw new InvalidFieldError('offset', `${off} is out of range`);
    const n = len ?? b.length - off;
    if (!Number.isInteger(n) || n < 0 || off + n > b.length) throw new ShortPacketError(n, b.length - off, 'buffer');
    if (n < HOST_REFLECT_SIZE) throw new ShortPacketError(HOST_REFLECT_SIZE, n, 'host reflect data');
    if (n > HOST_REFLECT_SIZE) throw new LengthMismatchError(`host reflect data is ${HOST_REFLECT_SIZE} bytes, got ${n}`);
    return {
      probedPort: b.readUInt16BE(off + OFF.probedPort),
      portIdx: b[off + OFF.portIdx]!,
      processId: b.readUInt32BE(off + OFF.processId),
      txNs: b.readBigUInt64BE(off + OFF.txNs),
    };
  },
};
