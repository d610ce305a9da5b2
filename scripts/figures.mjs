#!/usr/bin/env node
/**
 * `npm run figures [-- --run [NAME...]] [-- --from-build] [-- --check]`: rewrite the
 * "Figures" tables of README.md and bench/README.md (between
 * `<!-- figures:NAME:start -->` and `<!-- figures:NAME:end -->`) from the
 * benchmarks' JSON.
 *
 * The JSON is kept in bench/results/NAME.json ({command, at, loadavg, result};
 * tracked, so the tables can be checked against it). `--run` writes it by
 * running the benchmarks through the built CLI (dist/, `npm run build` first;
 * some need root); `--run NAME...` runs only those. `--from-build` takes the
 * runs the bench-target tests (test/bench-targets/) left in build/bench/
 * instead. `--check` rewrites nothing and exits 1 when a file would change.
 *
 * Adding a benchmark's figure: a line in BENCHES (how to run it) and a line in
 * ROWS (what the table says about it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(root, 'bench', 'results');
const buildDir = join(root, 'build', 'bench');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');

/** How each benchmark is run (arguments of the `pathsteer` CLI). */
const BENCHES = {
  failover: ['bench', 'failover', '--json'],
  'failover-100ms': ['bench', 'failover', '--probe-interval', '100', '--fabric', 'clos-2x2', '--no-kernel-baseline', '--json'], // clos-4x4 at 100 ms: agents do not converge (bench/README.md)
  dataplane: ['bench', 'dataplane', '--json'],
  maps: ['bench', 'maps', '--peers', '50000', '--json'],
  probes: ['bench', 'probes', '--json'],
  'gateway-memory': ['gateway', 'bench', 'memory', '--json'],
  'gateway-updates': ['gateway', 'bench', 'updates', '--peers', '50000', '--ports', '32', '--json'],
  ranker: ['bench', 'ranker', '--json'],
  maxmin: ['bench', 'maxmin', '--json'],
  altpath: ['bench', 'altpath', '--json'],
};

// ---------------------------------------------------------------------------
// formatting helpers for the rows

const ms = (x) => (x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);
const x1 = (x) => `${x >= 100 ? Math.round(x) : x.toFixed(1)}x`;
const pct = (x, d = 2) => `${(x * 100).toFixed(d)}%`;
const fabric = (j, name) => j.fabrics.find((f) => f.fabric === name);
const p99s = (j) => j.fabrics.map((f) => `${f.fabric} p99 ${ms(f.outage_ms.p99)} (p50 ${ms(f.outage_ms.p50)}, max ${ms(f.outage_ms.max)})`).join('; ');
const met = (ok) => (ok ? 'met' : '**not met**');

/**
 * One line per figure: [bench (BENCHES key), what, measured(result), target(result), baseline the
 * target is measured against]. Rows whose bench has no saved JSON say so.
 */
const ROWS = [
  ['failover', 'tenant outage, spine failure, 1 s probe interval (`bench failover`)', (j) => `${p99s(j)}; without agent ${ms(fabric(j, 'clos-2x2').without_agent_outage_ms)}`, (j) => `p99 <= 1.2 s: ${met(j.outage_p99_ms <= 1200)}`, 'absolute outage per affected flow; beside it the same failure without pathsteer and with kernel txrehash TCP (bench/README.md)'],
  ['failover-100ms', 'same, 100 ms probe interval', (j) => p99s(j), (j) => `p99 <= 0.3 s: ${met(j.outage_p99_ms <= 300)}`, 'absolute outage per affected flow'],
  ['dataplane', 'vxlan_sport per packet (`bench dataplane`)', (j) => `${j.ratio}x (${j.vxlan_sport_ns} vs ${j.empty_ns} ns; ${j.vxlan_sport_uncached_ns} ns on a flow-cache miss)`, (j) => `<= 2.5x: ${met(j.ratio <= 2.5)}`, 'an empty TC program, BPF_PROG_TEST_RUN'],
  ['maps', '50k-peer batch table write (`bench maps`)', (j) => `${j.batch_write_ms} ms`, (j) => `<= 50 ms: ${met(j.batch_write_ms <= 50)}`, 'absolute (one BPF_MAP_UPDATE_BATCH, encoding included)'],
  ['probes', 'agent, 64 peers x 32 ports at 1 probe/s (`bench probes`)', (j) => `${j.default_rate.agent_cpu_pct}% of one core, ${j.default_rate.unanswered_pct}% unanswered; ${j.max_probes_responses_per_s ? `sustained ${(j.max_probes_responses_per_s / 1000).toFixed(1)}k probes+responses/s` : 'no interval stayed under 1% unanswered at this load'}`, () => '', 'one core'],
  ['gateway-memory', 'gateway-sim path memory (`gateway bench memory`)', (j) => `PBM ${x1(j.pbm_ratio)}, HI ${x1(j.hi_ratio)}`, (j) => `PBM >= 15x: ${met(j.meets_targets.pbm)}; HI >= 25x: ${met(j.meets_targets.hi)} (gateway-sim/README.md)`, 'the naive one-port-per-entry table, same peers'],
  ['gateway-updates', 'table updates, 50k peers x 32 ports (`gateway bench updates`)', (j) => `${x1(j.speedup)} (passes alone ${x1(j.pipeline_speedup)}, CPU and ASIC overlapped ${x1(j.modelled_speedup)})`, (j) => `>= 1000x: ${met(j.speedup >= 1000)}`, 'PCIe at 10,000 transactions/s vs packets incl. encoding them on the CPU, in series with the passes'],
  ['ranker', 'ranking a 16K-server Clos at `pathsteer rank` defaults (`bench ranker`)', (j) => `${Math.round(j.seconds)} s wall (${j.traffic_samples}x${j.routing_samples} samples x ${j.candidates} candidates, ${j.epoch_ms} ms epochs, ${j.workers} workers); ${j.cpu_s_per_estimate} CPU s per estimate: about ${Math.round(j.build_s + (j.estimates * j.cpu_s_per_estimate) / j.workers)} s on ${j.workers} idle cores`, (j) => `<= 60 s: ${met(j.seconds <= 60)}`, "absolute, at the tool's default epoch and sample counts"],
  ['altpath', 'AltPath controller, 1M IPv4 prefixes x 3 peers, 100k active prefixes (`bench altpath`)', (j) => `first cycle ${ms(j.cycle_first_cpu_ms)} CPU (${ms(j.cycle_first_ms)} wall, ${j.cycle_first_changes} routes), churn cycle ${ms(j.cycle_churn_cpu_ms)} CPU; ingest ${Math.round(j.ingest_routes_per_cpu_s / 1000)}k routes per CPU-s (${Math.round(j.ingest_routes_per_s / 1000)}k/s wall); peak RSS ${j.peak_rss_mb} MB`, (j) => `cycle <= 1 s: ${met(j.cycle_first_cpu_ms <= 1000 && j.cycle_churn_cpu_ms <= 1000)}; ingest >= 200k routes/s: ${met(j.ingest_routes_per_cpu_s >= 200_000)}`, 'absolute, CPU time of the process (wall clock beside; bench/README.md)'],
  ['maxmin', 'approximate max-min on the 16K-server instance (`bench maxmin`)', (j) => `${j.speedup}x, aggregate error ${pct(j.aggregate_error)}, per flow max ${pct(j.flow_max_rel_error, 1)}, ${pct(j.flows_off_1pct)} of flows off > 1%`, (j) => `>= 30x: ${met(j.speedup >= 30)}; <= 1%: ${met(j.aggregate_error <= 0.01)}`, 'exact 1-waterfilling (SWARM Fig. 11 reference)'],
];

/** Tables of bench/README.md beyond the headline rows: [marker, render(saved) -> markdown]. */
const SECTIONS = {
  failover: (s) => {
    const rows = [];
    for (const name of ['failover', 'failover-100ms']) {
      const b = s[name];
      if (!b) continue;
      for (const f of b.result.fabrics) {
        rows.push(
          `| ${b.result.interval_ms} ms | ${f.fabric} (${f.spines} spines) | ${f.failed} | ${f.runs} | ${f.affected_flows} | ${ms(f.outage_ms.p50)} / ${ms(f.outage_ms.p99)} / ${ms(f.outage_ms.max)} | ${f.multi_outage_flows} | ${ms(f.without_agent_outage_ms)} | ${b.loadavg[0]} |`,
        );
      }
      if (b.result.kernel_txrehash_outage_ms !== null) rows.push(`| ${b.result.interval_ms} ms | kernel txrehash TCP, clos-2x2 (no agent) | link spine1-leaf2 | 1 | | ${ms(b.result.kernel_txrehash_outage_ms)} / ${ms(b.result.kernel_txrehash_outage_p99_ms)} / | | | ${b.loadavg[0]} |`);
    }
    return ['| interval | fabric | failed | runs | affected flows | outage p50 / p99 / max | flows with >1 outage | without agent (p50) | load |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |', ...rows].join('\n');
  },
  maxmin: (s) => {
    const b = s.maxmin;
    if (!b) return '(no saved `bench maxmin` run)';
    const j = b.result;
    return [
      `${j.flows} flows, ${j.links} links, ${j.entries} path entries, load ${b.loadavg[0]}:`,
      '',
      '| solver | ms | vs approx | aggregate error | per flow: max / off by > 1% |',
      '| --- | --- | --- | --- | --- |',
      `| approx (maxMinApprox, ranker's) | ${j.approx_ms} | 1x | ${pct(j.aggregate_error, 3)} | ${pct(j.flow_max_rel_error, 1)} / ${pct(j.flows_off_1pct)} |`,
      `| exact 1-waterfilling, ${j.exact_1waterfill_rounds} rounds (**headline baseline**) | ${j.exact_1waterfill_ms} | ${j.speedup}x slower | exact | exact |`,
      `| exact heap progressive filling | ${j.heap_ms} | ${(j.heap_ms / j.approx_ms).toFixed(1)}x slower | exact | exact |`,
      `| exact textbook waterfilling, ${j.textbook_rounds} rounds | ${j.textbook_ms} | ${j.speedup_vs_textbook}x slower | exact | exact |`,
      `| Soroush approximate waterfilling (SWARM's) | ${j.soroush_ms} | ${(j.soroush_ms / j.approx_ms).toFixed(1)}x slower | ${pct(j.soroush_aggregate_error, 3)} | ${pct(j.soroush_flow_max_rel_error, 1)} / ${pct(j.soroush_flows_off_1pct)} |`,
      `| approx warm-started (next epoch, ${j.warm_flows} flows) vs 1-waterfilling ${j.warm_1waterfill_ms} ms | ${j.warm_approx_ms} | ${j.warm_speedup}x faster than 1-waterfilling | ${pct(j.warm_aggregate_error, 3)} | ${pct(j.warm_flow_max_rel_error, 1)} / ${pct(j.warm_flows_off_1pct)} |`,
    ].join('\n');
  },
  'gateway-updates': (s) => {
    const b = s['gateway-updates'];
    if (!b) return '(no saved `gateway bench updates` run)';
    const j = b.result;
    const f = (x) => (x >= 1 ? `${x.toFixed(1)} s` : `${(x * 1000).toFixed(2)} ms`);
    const line = (name, r) =>
      `| ${name} | ${r.pcie_transactions} | ${f(r.pcie_s)} | ${r.packets} | ${r.passes} | ${f(r.cpu_encode_s)} | ${f(r.cpu_packet_s)} | ${f(r.cpu_serial_s)} | **${x1(r.speedup)}** | ${f(r.serial_s)}: ${x1(r.wall_speedup)} | ${x1(r.pipeline_speedup)} | ${x1(r.modelled_speedup)} |`;
    return [
      `${j.peers} peers x ${j.ports} ports, records in ${j.order} order, medians of ${j.runs} runs, load ${b.loadavg[0]}; times are CPU time of the process (what each takes on a core of its own), wall clock beside:`,
      '',
      '| scheme | PCIe transactions | PCIe time | packets | passes | encode (CPU) | passes (pipeline) | in series | speedup (headline) | in series, wall clock | passes alone | overlapped (modelled) |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      line('PBM', j.pbm),
      line('HI', j.hi),
    ].join('\n');
  },
};

// ---------------------------------------------------------------------------

function loadSaved() {
  const out = {};
  for (const name of Object.keys(BENCHES)) {
    const f = join(benchDir, `${name}.json`);
    if (existsSync(f)) out[name] = JSON.parse(readFileSync(f, 'utf8'));
  }
  return out;
}

function runBench(name) {
  const args = BENCHES[name];
  if (!args) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(BENCHES).join(', ')}`);
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`);
  process.stderr.write(`figures: pathsteer ${args.join(' ')} (load ${loadavg()[0].toFixed(2)})\n`);
  const before = loadavg().map((x) => +x.toFixed(2));
  const stdout = execFileSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20, timeout: 3_600_000 });
  const result = JSON.parse(stdout);
  mkdirSync(benchDir, { recursive: true });
  const saved = { command: `pathsteer ${args.join(' ')}`, at: new Date().toISOString(), loadavg: before, loadavg_after: loadavg().map((x) => +x.toFixed(2)), result };
  writeFileSync(join(benchDir, `${name}.json`), `${JSON.stringify(saved, null, 2)}\n`);
}

function headline(saved) {
  const lines = ['| what | measured | target | target measured against | load (1 min) |', '| --- | --- | --- | --- | --- |'];
  for (const [name, what, measured, target, baseline] of ROWS) {
    const b = saved[name];
    if (!b) {
      lines.push(`| ${what} | no saved run (\`npm run figures -- --run ${name}\`) | | ${baseline} | |`);
      continue;
    }
    lines.push(`| ${what} | ${measured(b.result)} | ${target(b.result)} | ${baseline} | ${b.loadavg[0]} (${b.at.slice(0, 10)}) |`);
  }
  return lines.join('\n');
}

function replaceBetween(text, marker, body, file) {
  const start = `<!-- figures:${marker}:start -->`;
  const end = `<!-- figures:${marker}:end -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${file}: markers ${start} ... ${end} not found`);
  return `${text.slice(0, a + start.length)}\n<!-- generated by scripts/figures.mjs from bench/results/*.json: do not edit by hand -->\n${body}\n${text.slice(b)}`;
}

function main() {
  const argv = process.argv.slice(2);
  const check = argv.includes('--check');
  const runAt = argv.indexOf('--run');
  const failed = [];
  if (argv.includes('--from-build')) {
    for (const name of Object.keys(BENCHES)) {
      const f = join(buildDir, `${name}.json`);
      if (!existsSync(f)) continue;
      mkdirSync(benchDir, { recursive: true });
      writeFileSync(join(benchDir, `${name}.json`), readFileSync(f));
      process.stderr.write(`figures: ${name} from build/bench/\n`);
    }
  }
  if (runAt >= 0) {
    const names = argv.slice(runAt + 1).filter((a) => !a.startsWith('--'));
    for (const name of names.length ? names : Object.keys(BENCHES)) {
      try {
        runBench(name);
      } catch (e) {
        // keep going: the tables keep this benchmark's last saved run
        failed.push(name);
        process.stderr.write(`figures: ${name} failed (${e.status !== undefined ? `exit ${e.status}` : e.message}); its last saved run, if any, stays\n`);
      }
    }
  }
  const saved = loadSaved();
  const files = {
    'README.md': (t) => replaceBetween(t, 'headline', headline(saved), 'README.md'),
    'bench/README.md': (t) => {
      let out = replaceBetween(t, 'headline', headline(saved), 'bench/README.md');
      for (const [marker, render] of Object.entries(SECTIONS)) out = replaceBetween(out, marker, render(saved), 'bench/README.md');
      return out;
    },
  };
  let changed = 0;
  for (const [rel, rewrite] of Object.entries(files)) {
    const f = join(root, rel);
    const before = readFileSync(f, 'utf8');
    const after = rewrite(before);
    if (after === before) continue;
    changed++;
    if (check) process.stderr.write(`figures: ${rel} is not up to date with bench/results/*.json\n`);
    else writeFileSync(f, after);
  }
  if (failed.length) {
    process.stderr.write(`figures: failed to run: ${failed.join(', ')}\n`);
    process.exitCode = 1;
  }
  if (check && changed) process.exitCode = 1;
  else process.stderr.write(`figures: ${check ? 'up to date' : `${changed} file(s) rewritten`} (${Object.keys(saved).length} of ${Object.keys(BENCHES).length} benchmarks have a saved run)\n`);
}

main();
