/**
 * ZooRoute Fig. 17 on gateway-sim: path-table memory of PBM (Np = 64, G-G) and
 * HI (Np = 32, M = 8, H-G) relative to the naive one-port-per-entry table, for
 * 10k/50k/100k peers with a share of unavailable ports and of stateful vIPs.
 * Targets: PBM >= 15x, HI >= 25x less memory (the paper's ~15x and ~25x).
 */
import { memoryExperiment, type MemoryExperimentOptions, type MemoryResult } from '../gateway-sim/experiments.js';

export const GATEWAY_MEMORY_TARGETS = { pbm_ratio: 15, hi_ratio: 25 } as const;

export interface GatewayMemoryBench extends MemoryResult {
  targets: typeof GATEWAY_MEMORY_TARGETS;
  meets_targets: { pbm: boolean; hi: boolean };
  seconds: number;
}

export function benchGatewayMemory(o: MemoryExperimentOptions = {}): GatewayMemoryBench {
  const t0 = process.hrtime.bigint();
  const r = memoryExperiment(o);
  return {
    pbm_ratio: r.pbm_ratio,
    hi_ratio: r.hi_ratio,
    pbm_ratio_np32: r.pbm_ratio_np32,
    targets: GATEWAY_MEMORY_TARGETS,
    meets_targets: { pbm: r.pbm_ratio >= GATEWAY_MEMORY_TARGETS.pbm_ratio, hi: r.hi_ratio >= GATEWAY_MEMORY_TARGETS.hi_ratio },
    paper: r.paper,
    params: r.params,
    rows: r.rows,
    tables: r.tables,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
  };
}

export function summarizeGatewayMemory(r: GatewayMemoryBench): string {
  const lines = [
    `gateway memory: PBM ${r.pbm_ratio.toFixed(1)}x (Np=${r.params.npGG}), HI ${r.hi_ratio.toFixed(1)}x (Np=${r.params.npHG}, M=${r.params.m}) less than the naive table (paper ~${r.paper.pbm_ratio}x, ~${r.paper.hi_ratio}x; worst of ${r.params.populations.join('/')} peers, ${(r.params.vip_share * 100).toFixed(1)}% stateful vIPs)`,
    '',
    'peers    vIPs  Np  scheme  naive Mbit  compressed Mbit  ratio  naive fits  ports avail/usable',
  ];
  for (const row of r.rows) {
    lines.push(
      [
        String(row.peers).padEnd(8),
        String(row.vips).padStart(4),
        String(row.np).padStart(3),
        row.compressed.scheme.padStart(7),
        (row.naive.bits / 1e6).toFixed(1).padStart(11),
        (row.compressed.bits / 1e6).toFixed(2).padStart(16),
        `${row.ratio.toFixed(1)}x`.padStart(6),
        String(row.naive.fits).padStart(11),
        `${row.ports_available.toFixed(1)}/${row.ports_usable.toFixed(1)}`.padStart(19),
      ].join(' '),
    );
  }
  return lines.join('\n');
}
