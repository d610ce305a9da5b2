/**
 * BMP wire constants (RFC 7854): header sizes, message types, per-peer header
 * flags, TLV types, Peer Down reasons, statistics types.
 */

/** RFC 7854 §4.1: version (1), message length (4), message type (1). */
export const BMP_COMMON_HEADER_SIZE = 6;
/** RFC 7854 §4.2: peer type, flags, distinguisher (8), address (16), AS, BGP ID, timestamp s, µs. */
export const BMP_PER_PEER_HEADER_SIZE = 42;
/** RFC 7854 §4.10: local address (16), local port, remote port. */
export const BMP_PEER_UP_FIXED_SIZE = 20;
/** RFC 7854 §4.4: information TLV type (2) and length (2). */
export const BMP_TLV_HEADER_SIZE = 4;
/** RFC 7854 §4.8: stats count. */
export const BMP_STATS_COUNT_SIZE = 4;
export const BMP_VERSION = 3;
/**
 * Largest message the collector accepts. RFC 7854 sets no limit; the biggest
 * real one is a Peer Up with two extended OPENs (RFC 8654) and information
 * TLVs, far below this. A larger length is a broken stream.
 */
export const BMP_MAX_MESSAGE_SIZE = 1 << 20;

/** RFC 7854 §4.1 message types. */
export const BmpType = {
  ROUTE_MONITORING: 0,
  STATISTICS_REPORT: 1,
  PEER_DOWN: 2,
  PEER_UP: 3,
  INITIATION: 4,
  TERMINATION: 5,
  ROUTE_MIRRORING: 6,
} as const;

/** RFC 7854 §4.2 peer types (3: Loc-RIB, RFC 9069). */
export const PeerType = { GLOBAL: 0, RD: 1, LOCAL: 2, LOC_RIB: 3 } as const;

/** RFC 7854 §4.2 per-peer header flags. */
export const PeerFlag = {
  /** V: the peer address is IPv6. */
  V: 0x80,
  /** L: post-policy Adj-RIB-In (0: pre-policy). */
  L: 0x40,
  /** A: legacy 2-byte AS_PATH format (0: 4-byte). */
  A: 0x20,
  /** O: Adj-RIB-Out (RFC 8671). */
  O: 0x10,
} as const;

/** RFC 7854 §4.4 Initiation (and Peer Up information) TLV types. */
export const InfoTlvType = { STRING: 0, SYS_DESCR: 1, SYS_NAME: 2 } as const;
/** RFC 7854 §4.5 Termination TLV types. */
export const TermTlvType = { STRING: 0, REASON: 1 } as const;

/** RFC 7854 §4.9 Peer Down reasons. */
export const PeerDownReason = {
  LOCAL_NOTIFICATION: 1,
  LOCAL_NO_NOTIFICATION: 2,
  REMOTE_NOTIFICATION: 3,
  REMOTE_NO_NOTIFICATION: 4,
  PEER_DE_CONFIGURED: 5,
} as const;

/** RFC 7854 §4.8 statistics types whose values are 64-bit gauges (the others are 32-bit counters). */
export const STAT_GAUGE_TYPES: ReadonlySet<number> = new Set([7, 8, 9, 10]);
