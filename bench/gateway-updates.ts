/**
 * ZooRoute Fig. 18 on gateway-sim: a gateway with N peers (default 50,000) whose
 * every port changes state. Completion time over a PCIe channel (10,000
 * transactions/s, modelled) vs packet-triggered updates (real type-0x05 packets,
 * one record per pipeline pass, recirculated to the end flag; wall time of
 * encoding + every pass, measured), for PBM and HI. Target: >= 1000x faster.
 */
import { updateExperiment, type UpdateExperimentOptions, type UpdateResult } from '../gateway-sim/experiments.js';

export interface GatewayUpdatesBench extends UpdateResult {
  meets_target: boolean;
  seconds: number;
}

export function benchGatewayUpdates(o: UpdateExperimentOptions = {}): GatewayUpdatesBench {
  const t0 = process.hrtime.bigint();
  const r = updateExperiment(o);
  return { ...r, meets_target: r.speedup >= r.target_speedup, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

export function summarizeGatewayUpdates(r: GatewayUpdatesBench): string {
  const f = (s: number): string => (s >= 1 ? `${s.toFixed(1)} s` : `${(s * 1000).toFixed(1)} ms`);
  return [
    `gateway updates (${r.peers} peers × ${r.ports} ports, PCIe ${r.pcie_rate}/s): packets ${r.speedup.toFixed(0)}x faster than PCIe measured, ${r.modelled_speedup.toFixed(0)}x modelled (target ${r.target_speedup}x)`,
    `  PBM: PCIe ${f(r.pbm.pcie_s)} (${r.pbm.pcie_transactions} transactions); packets ${f(r.pbm.packet_s)} (${r.pbm.packets} packets, ${r.pbm.passes} passes; encode ${f(r.pbm.encode_s)}, ASIC model ${f(r.pbm.pipeline_model_s)})`,
    `  HI:  PCIe ${f(r.hi.pcie_s)} (${r.hi.pcie_transactions} transactions, ${r.hi_pcie_vs_pbm.toFixed(1)}x PBM); packets ${f(r.hi.packet_s)} (${r.hi.passes} passes)`,
    `  naive: PCIe ${f(r.naive.pcie_s)} (${r.naive.transactions_per_peer} transactions per peer); no packet updates`,
  ].join('\n');
}
