/**
 * What probe_steer (bpf/probe_steer.bpf.c, TC ingress) leaves in a probe it
 * delivers to the agent's UDP socket: the reserved bytes 26-27 of the wire
 * header (`struct ps_probe_hdr.reserved`, zero on the wire) carry the IPv4 TTL
 * the packet arrived with and PS_PROBE_TTL_VALID. A Node dgram socket cannot
 * read the TTL itself; the agent needs it for the hop count of negotiation
 * responses (ZooRoute tells inter-AZ peers apart by TTL). The wire codecs in
 * src/protocol ignore these bytes.
 */

/** Default UDP port of the agent's probe socket (`pathsteer attach --agent-port`). */
export const DEFAULT_AGENT_PORT = 14789;

/** Offset of the arrival TTL in the pathsteer header (`reserved[0]`). */
export const PROBE_TTL_OFFSET = 26;
/** Offset of the "TTL valid" marker (`reserved[1]`). */
export const PROBE_TTL_FLAG_OFFSET = 27;
/** `PS_PROBE_TTL_VALID` of bpf/include/pathsteer_types.h. */
export const PS_PROBE_TTL_VALID = 0x01;

/**
 * The IPv4 TTL a probe arrived with, from a UDP payload received on the agent
 * port; undefined when probe_steer did not deliver it (payload shorter than
 * the header, or the marker byte is not PS_PROBE_TTL_VALID, e.g. a probe sent
 * straight to the agent port).
 */
export function probeArrivalTtl(payload: Buffer): number | undefined {
  if (payload.length < 28 || payload[PROBE_TTL_FLAG_OFFSET] !== PS_PROBE_TTL_VALID) return undefined;
  return payload[PROBE_TTL_OFFSET];
}
