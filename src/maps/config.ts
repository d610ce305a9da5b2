/**
 * Codec for `struct ps_config` (bpf/include/pathsteer_types.h), ps_config[0]:
 * the run-time configuration of the data plane (tunnel ports, flow-hash seed,
 * path generation). Write it through PathGen.writeConfig (src/maps/path-gen.ts)
 * on a live data plane: that keeps path_gen advancing atomically.
 */
import { checkSource, target, type Codec, type FieldLayout } from './codec.js';

export interface PsConfig {
  /** VXLAN destination port (4789; 8472 for flannel); 0 = not steered. */
  vxlanPort: number;
  /** Geneve destination port (6081); 0 = not steered. */
  genevePort: number;
  /** UDP port of the agent's probe socket (probe_steer delivers probes there). */
  agentPort: number;
  /** Reserved, 0. */
  flags: number;
  /** Mixed into every flow hash (ps_flow_hash). */
  hashSeed: number;
  /**
   * Advanced after every change to ps_path or ps_pin (PathGen.bump); flow-cache
   * slots of another generation are stale. Only the kernel-side atomic add
   * should change it on a live data plane.
   */
  pathGen: number;
}

const FIELDS: readonly FieldLayout[] = [
  { name: 'vxlanPort', c: 'vxlan_port', offset: 0, size: 2 },
  { name: 'genevePort', c: 'geneve_port', offset: 2, size: 2 },
  { name: 'agentPort', c: 'agent_port', offset: 4, size: 2 },
  { name: 'flags', c: 'flags', offset: 6, size: 2 },
  { name: 'hashSeed', c: 'hash_seed', offset: 8, size: 4 },
  { name: 'pathGen', c: 'path_gen', offset: 12, size: 4 },
];

export const ConfigCodec: Codec<PsConfig> = {
  cName: 'ps_config',
  size: 16,
  fields: FIELDS,
  encode(v, buf, off = 0) {
    const b = target(16, buf, off);
    b.writeUInt16LE(v.vxlanPort, off);
    b.writeUInt16LE(v.genevePort, off + 2);
    b.writeUInt16LE(v.agentPort, off + 4);
    b.writeUInt16LE(v.flags, off + 6);
    b.writeUInt32LE(v.hashSeed >>> 0, off + 8);
    b.writeUInt32LE(v.pathGen >>> 0, off + 12);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_config', 16, buf, off);
    return {
      vxlanPort: buf.readUInt16LE(off),
      genevePort: buf.readUInt16LE(off + 2),
      agentPort: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      hashSeed: buf.readUInt32LE(off + 8),
      pathGen: buf.readUInt32LE(off + 12),
    };
  },
};
