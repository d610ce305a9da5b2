/**
 * ZooRoute Fig. 18 on gateway-sim: a gateway with N peers (default 50,000) whose
 * every port changes state. Completion time over a PCIe channel (10,000
 * transactions/s, modelled) vs packet-triggered updates (real type-0x05 packets,
 * one record per pipeline pass, recirculated to the end flag; the passes and
 * the CPU's encoding timed separately), for PBM and HI. Target: >= 1000x
 * faster, with the packets' encoding (the host CPU's work) in series with the
 * passes (`speedup`), from the process's CPU time (what encoding and passes
 * take on a core of their own; the wall-clock figure `wall_speedup` beside it
 * also holds time spent waiting for a CPU on a shared machine); the passes
 * alone (`pipeline_speedup`) and CPU and ASIC overlapped (`modelled_speedup`)
 * are reported beside it.
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
  const f = (s: number): string => (s >= 1 ? `${s.toFixed(1)} s` : `${(s * 1000).toFixed(2)} ms`);
  return [
    `gateway updates (${r.peers} peers × ${r.ports} ports, PCIe ${r.pcie_rate}/s, records in ${r.order} order): packets ${r.speedup.toFixed(0)}x faster than PCIe, encoding and passes in series, CPU time (target ${r.target_speedup}x: ${r.meets_target ? 'met' : 'not met'}; wall clock ${r.wall_speedup.toFixed(0)}x); passes alone ${r.pipeline_speedup.toFixed(0)}x, CPU and ASIC overlapped (modelled) ${r.modelled_speedup.toFixed(0)}x`,
    `  PBM: PCIe ${f(r.pbm.pcie_s)} (${r.pbm.pcie_transactions} transactions); passes ${f(r.pbm.packet_s)} median, ${f(r.pbm.packet_s_min)} min (${r.pbm.packets} packets, ${r.pbm.passes} passes); encode ${f(r.pbm.encode_s)}; in series ${f(r.pbm.serial_s)} (CPU ${f(r.pbm.cpu_serial_s)}); ASIC model ${f(r.pbm.pipeline_model_s)}`,
    `  HI:  PCIe ${f(r.hi.pcie_s)} (${r.hi.pcie_transactions} transactions, ${r.hi_pcie_vs_pbm.toFixed(1)}x PBM); passes ${f(r.hi.packet_s)} median, ${f(r.hi.packet_s_min)} min (${r.hi.passes} passes); encode ${f(r.hi.encode_s)}; in series ${f(r.hi.serial_s)} (CPU ${f(r.hi.cpu_serial_s)})`,
    `  naive: PCIe ${f(r.naive.pcie_s)} (${r.naive.transactions_per_peer} transactions per peer); no packet updates`,
  ].join('\n');
}
