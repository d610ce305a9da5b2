/**
 * Sizes, offsets and field values of the pathsteer wire protocol
 * (DESIGN §3; ZooRoute Appendix A). Everything on the wire is network byte order.
 */

/** First three payload bytes of every pathsteer packet (ZooRoute's "Magic Number"). */
export const PS_MAGIC = 0xffeedd;
/** The protocol version this codec speaks. */
export const PS_VERSION = 1;
/** Versions decode() accepts unless told otherwise. */
export const PS_SUPPORTED_VERSIONS: readonly number[] = [PS_VERSION];

/** Common header (magic .. reserved). */
export const PS_HEADER_SIZE = 28;
/**
 * Largest pathsteer payload: a 1500-byte IPv4 underlay MTU minus 20 bytes of IPv4
 * and 8 of UDP. Probes must not fragment — a fragment carries no UDP ports, so it
 * would not hash onto the path being probed.
 */
export const PS_MAX_PACKET_SIZE = 1472;
/** Largest reflect data a negotiation or telemetry packet can carry. */
export const PS_MAX_REFLECT_SIZE = PS_MAX_PACKET_SIZE - PS_HEADER_SIZE;

/** One table-update record: {u32 peer; u16 base; u8 nports; u8 flags; u64 bitmap}. */
export const PS_TABLE_UPDATE_RECORD_SIZE = 16;
/** Records that fit one table-update packet: floor((1472 - 28) / 16) = 90. */
export const PS_MAX_TABLE_UPDATE_RECORDS = Math.floor((PS_MAX_PACKET_SIZE - PS_HEADER_SIZE) / PS_TABLE_UPDATE_RECORD_SIZE);
/** Source-port windows are at most 64 ports (one u64 bitmap). */
export const PS_MAX_WINDOW_PORTS = 64;

/** Header field offsets. */
export const OFF = {
  magic: 0,
  type: 3,
  version: 4,
  mode: 5,
  ctl: 6,
  flags: 7,
  dataLength: 8,
  txSport: 10,
  seq: 12,
  srcVtep: 16,
  backendId: 20,
  reserved: 26,
  body: 28,
} as const;

/** Table-update record field offsets (relative to the record). */
export const REC_OFF = { peer: 0, base: 4, nports: 6, flags: 7, bitmap: 8 } as const;

/** PKT Type values (ZooRoute Appendix A; 0x01/0x02 avoided: VXLAN-GPE Next Protocol). */
export const MsgType = {
  NEGOTIATION_REQUEST: 0x11,
  NEGOTIATION_RESPONSE: 0x18,
  TELEMETRY_REQUEST: 0x7e,
  TELEMETRY_RESPONSE: 0x7f,
  TABLE_UPDATE: 0x05,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

const TYPES = new Set<number>(Object.values(MsgType));
export function isMsgType(t: number): t is MsgType {
  return TYPES.has(t);
}

/** CTL: control of a probing task, set by the responder (ZooRoute §4.2, Alg. 1). */
export const Ctl = {
  /** Normal probing. */
  DEFAULT: 0,
  /** Re-negotiate with the responder. */
  RST: 1,
  /** Backpressure: lower the probing frequency. */
  BP: 2,
  /** Stop the probing task. */
  FIN: 4,
} as const;
/** Every CTL bit the protocol defines; others are rejected. */
export const CTL_MASK = Ctl.RST | Ctl.BP | Ctl.FIN;

/** Header flag bits. */
export const Flag = {
  /** Request: answer with outer source port = the header's `aux` word (a return path the requester knows is good). */
  REPLY_PORT: 0x01,
} as const;

/** Mode bits (negotiation: all supported; telemetry: the current one). */
export const Mode = {
  /** Probe every port of the window. */
  FULL_PROBE: 0x01,
  /** Probe only the ports in use. */
  PARTIAL_PROBE: 0x02,
  /** Fill backend id (middlebox sensing, ZooRoute §6). */
  MIDDLEBOX_SENSING: 0x04,
  /** Answer with the port the peer used instead of probing (ZooRoute §4.1). */
  SPORT_LEARNING: 0x08,
} as const;

/** Table-update record flag: last record of the packet (ZooRoute's EndFlag). */
export const TU_F_END = 0x80;
/** Record flag bits that carry the path entry's PS_F_* flags (STATEFUL, PIN, PREFER). */
export const TU_F_ENTRY_MASK = 0x07;
/** Every record flag bit the protocol defines; the rest must be zero. */
export const TU_F_KNOWN = TU_F_END | TU_F_ENTRY_MASK;

/** Host agents' reflect data: {u16 probed_port; u8 port_idx; u8 pad; u32 process_id; u64 tx_ns}. */
export const HOST_REFLECT_SIZE = 16;
