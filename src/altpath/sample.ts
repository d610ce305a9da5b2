/**
 * The contract between AltPath's two halves: one sampled TCP connection at
 * close, as a sampler host sends it to the AltPath controller (conn_stats ->
 * ps_conn_events ring buffer -> `pathsteer altpath sampler` -> HTTP
 * `POST /v1/samples` of the controller, newline-delimited JSON, one sample a
 * line). The controller answers `{accepted, rejected, errors}` (errors: the
 * first few, each `{line, message}`); a bad line is rejected alone and never
 * costs the good ones.
 *
 * Fields mirror `struct ps_conn_event` (bpf/include/pathsteer_types.h) with
 * addresses as text and the event's monotonic timestamp turned into wall time.
 */
import { z } from 'zod';
import { zip } from '../common/net.js';

/** Where a sampler sends samples on the controller. */
export const SAMPLES_PATH = '/v1/samples';

const u32 = z.number().int().min(0).max(0xffff_ffff);
const u64 = z.number().int().min(0);

export const ConnSampleSchema = z
  .object({
    /** The sampling server (hostname or configured name). */
    host: z.string().min(1).max(255),
    /** Wall-clock time of the close, ms since the epoch. */
    ts_ms: z.number().int().min(0),
    family: z.union([z.literal(4), z.literal(6)]),
    /** The server's address (the connection's local side). */
    saddr: zip.prefix(),
    /** The client's address: what AltPath joins with the route in force (destination prefix). */
    daddr: zip.prefix(),
    sport: z.number().int().min(0).max(65535),
    dport: z.number().int().min(0).max(65535),
    /** DSCP the flow carried (0 = default route; an AltPath value = that alternate table). */
    dscp: z.number().int().min(0).max(63),
    srtt_us: u32,
    rttvar_us: u32,
    rto_us: u32,
    total_retrans: u32,
    segs_out: u32,
    segs_in: u32,
    bytes_acked: u64,
    bytes_received: u64,
    duration_us: u64,
  })
  .strict();

export type ConnSample = z.infer<typeof ConnSampleSchema>;

/** The controller's answer to `POST /v1/samples`. */
export interface SamplesReply {
  accepted: number;
  rejected: number;
  errors: Array<{ line: number; message: string }>;
}
