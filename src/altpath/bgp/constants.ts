/**
 * BGP-4 wire constants (RFC 4271 and the RFCs named per group): message
 * header, message types, path attribute flags and type codes, AS_PATH segment
 * types, capability codes, address families. Only what the AltPath collector
 * reads or writes.
 */

/** RFC 4271 §4.1: 16-byte marker, 2-byte length, 1-byte type. */
export const BGP_HEADER_SIZE = 19;
export const BGP_MARKER_SIZE = 16;
/** RFC 4271 §4.1: a message is at most 4096 bytes... */
export const BGP_MAX_MESSAGE_SIZE = 4096;
/** ...or 65535 with the Extended Message capability (RFC 8654). */
export const BGP_MAX_EXTENDED_MESSAGE_SIZE = 65535;
/** RFC 4271 §4.2: version, my AS, hold time, BGP identifier, optional parameters length. */
export const BGP_OPEN_FIXED_SIZE = 10;
/** RFC 4271 §4.3: withdrawn routes length + total path attribute length. */
export const BGP_UPDATE_FIXED_SIZE = 4;

export const BgpMessageType = {
  OPEN: 1,
  UPDATE: 2,
  NOTIFICATION: 3,
  KEEPALIVE: 4,
  ROUTE_REFRESH: 5,
} as const;

/** RFC 4271 §4.3 attribute flags. */
export const AttrFlag = {
  OPTIONAL: 0x80,
  TRANSITIVE: 0x40,
  PARTIAL: 0x20,
  EXTENDED_LENGTH: 0x10,
} as const;

/** Path attribute type codes (RFC 4271 §5, RFC 1997, RFC 4760, RFC 6793, RFC 8092). */
export const AttrType = {
  ORIGIN: 1,
  AS_PATH: 2,
  NEXT_HOP: 3,
  MULTI_EXIT_DISC: 4,
  LOCAL_PREF: 5,
  ATOMIC_AGGREGATE: 6,
  AGGREGATOR: 7,
  COMMUNITIES: 8,
  MP_REACH_NLRI: 14,
  MP_UNREACH_NLRI: 15,
  AS4_PATH: 17,
  AS4_AGGREGATOR: 18,
  LARGE_COMMUNITY: 32,
} as const;

/** RFC 4271 §5.1.1 ORIGIN values (lower is preferred, §9.1.2.2 c). */
export const Origin = { IGP: 0, EGP: 1, INCOMPLETE: 2 } as const;
export type OriginValue = 0 | 1 | 2;

/** AS_PATH segment types (RFC 4271 §4.3; confederation segments RFC 5065 §3). */
export const AsSegmentType = {
  AS_SET: 1,
  AS_SEQUENCE: 2,
  AS_CONFED_SEQUENCE: 3,
  AS_CONFED_SET: 4,
} as const;

/** RFC 6793 §9: the 2-byte placeholder for a 4-byte AS number. */
export const AS_TRANS = 23456;

/** RFC 5492 capability codes read from OPEN messages. */
export const CapabilityCode = {
  MULTIPROTOCOL: 1,
  FOUR_OCTET_AS: 65,
  ADD_PATH: 69,
} as const;

/** RFC 4271 §4.2 optional parameter type: capabilities (RFC 5492). */
export const OPT_PARAM_CAPABILITIES = 2;
/** RFC 9072: extended optional parameters length marker. */
export const OPT_PARAM_EXTENDED = 255;

/** Address family identifiers (IANA) and SAFI unicast (RFC 4760). */
export const Afi = { IPV4: 1, IPV6: 2 } as const;
export const SAFI_UNICAST = 1;
