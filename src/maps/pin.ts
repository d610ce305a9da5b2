/**
 * Codecs for `struct ps_pin_key` and `struct ps_pin_val`
 * (bpf/include/pathsteer_types.h), the LRU ps_pin map: which window index a
 * flow of a peer is pinned to.
 */
import { checkSource, target, type Codec, type FieldLayout } from './codec.js';
import { ipv4Bytes, ipv4String } from './scalar.js';

export interface PinKey {
  /** Peer VTEP (dotted quad; `__be32` in the map). */
  peer: string;
  /** ps_flow_hash of the kernel's outer source port (see flowHash in src/agent/select-port.ts). */
  flowHash: number;
}

export interface PinVal {
  /** Pinned window index (port basePort + idx). */
  idx: number;
}

const KEY_FIELDS: readonly FieldLayout[] = [
  { name: 'peer', c: 'peer', offset: 0, size: 4 },
  { name: 'flowHash', c: 'flow_hash', offset: 4, size: 4 },
];

export const PinKeyCodec: Codec<PinKey> = {
  cName: 'ps_pin_key',
  size: 8,
  fields: KEY_FIELDS,
  encode(v, buf, off = 0) {
    const b = target(8, buf, off);
    ipv4Bytes(v.peer, b, off);
    b.writeUInt32LE(v.flowHash >>> 0, off + 4);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_pin_key', 8, buf, off);
    return { peer: ipv4String(buf, off), flowHash: buf.readUInt32LE(off + 4) };
  },
};

const VAL_FIELDS: readonly FieldLayout[] = [
  { name: 'idx', c: 'idx', offset: 0, size: 1 },
  { name: 'pad', c: 'pad', offset: 1, size: 7 },
];

export const PinValCodec: Codec<PinVal> = {
  cName: 'ps_pin_val',
  size: 8,
  fields: VAL_FIELDS,
  encode(v, buf, off = 0) {
    const b = target(8, buf, off);
    b.writeUInt8(v.idx, off);
    b.fill(0, off + 1, off + 8);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_pin_val', 8, buf, off);
    return { idx: buf.readUInt8(off) };
  },
};
