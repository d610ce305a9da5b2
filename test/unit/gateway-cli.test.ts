import { describe, expect, it } from 'vitest';
import { runCli, runCliJson } from '../support/cli.js';

const run = (...args: string[]): unknown => runCliJson(args);

describe('pathsteer gateway', () => {
  it('inspect --table path --json shows the built-in example (Fig. 11 after the packet update)', () => {
    const j = run('gateway', 'inspect', '--table', 'path', '--json') as {
      gateways: Array<{ scheme: string; peers: Array<{ peer: string; bitmap?: string; choices: Array<{ hash: number; port: number | null }> }> }>;
    };
    const pbm = j.gateways.find((g) => g.scheme === 'pbm')!;
    const dst2 = pbm.peers.find((p) => p.peer === '198.18.0.2')!;
    expect(dst2.bitmap).toBe('1001');
    expect(dst2.choices[2]).toEqual({ hash: 2, port: 10004 });
    expect(j.gateways.map((g) => g.scheme)).toEqual(['pbm', 'hi']);
  });

  it('inspect --table resources and a P4 table by name', () => {
    const r = run('gateway', 'inspect', '--table', 'resources', '--json') as Array<{ objects: Array<{ name: string; stages: number[] }> }>;
    expect(r[0]!.objects.map((o) => o.name)).toContain('pbm_priority');
    const t = run('gateway', 'inspect', '--table', 'pbm_priority', '--json') as { entries: unknown[] };
    expect(t.entries).toHaveLength(16);
  });

  it('bench memory --json prints the ratios', () => {
    const j = run('gateway', 'bench', 'memory', '--populations', '2000', '--json') as { pbm_ratio: number; hi_ratio: number; rows: unknown[]; tables: unknown[] };
    expect(j.pbm_ratio).toBeGreaterThan(1);
    expect(j.hi_ratio).toBeGreaterThan(1);
    expect(j.rows).toHaveLength(3);
  });

  it('bench updates --json prints PCIe and packet times (also as `bench gateway-updates`)', () => {
    for (const args of [
      ['gateway', 'bench', 'updates'],
      ['bench', 'gateway-updates'],
    ]) {
      const j = run(...args, '--peers', '1000', '--ports', '32', '--runs', '1', '--warmup', '0', '--json') as {
        pcie_s: number;
        packet_s: number;
        encode_s: number;
        speedup: number;
        pipeline_speedup: number;
        pbm: { passes: number; tables_equal: boolean };
      };
      expect(j.pcie_s).toBeCloseTo(0.1, 10);
      expect(j.packet_s).toBeGreaterThan(0);
      expect(j.encode_s).toBeGreaterThan(0);
      // one cold run of 1,000 peers: only the shape is checked here (the figures: test/bench-targets)
      expect(j.speedup).toBeGreaterThan(0);
      expect(j.pipeline_speedup).toBeGreaterThanOrEqual(j.speedup);
      expect(j.pbm).toMatchObject({ passes: 1000, tables_equal: true });
    }
  });

  it('bad options exit 2 and name the option', () => {
    const a = runCli(['gateway', 'bench', 'updates', '--peers', '5']);
    expect(a.status).toBe(2);
    expect(a.stderr).toContain('--peers');
    const b = runCli(['gateway', 'bench', 'updates', '--m', '5']);
    expect(b.status).toBe(2);
    expect(b.stderr).toContain('--m 5 must divide');
    const d = runCli(['gateway', 'bench', 'updates', '--order', 'sideways']);
    expect(d.status).toBe(2);
    expect(d.stderr).toContain('--order');
    const c = runCli(['gateway', 'bench', 'memory', '--populations', '10,x']);
    expect(c.status).toBe(2);
    expect(c.stderr).toContain('--populations');
  });
});
