import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const tb = (args: string[]) => runCli(['testbed', ...args]);

describe('pathsteer testbed CLI', () => {
  it('lists its subcommands', () => {
    const r = tb(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['up', 'down', 'status', 'fail', 'heal', 'traffic', 'run', 'baseline', 'vagrant']) expect(r.stdout).toMatch(new RegExp(`\\n  ${c}\\b`));
  });

  it('rejects bad input with exit 2 and a message naming it, before touching anything', () => {
    const cases: Array<[string[], RegExp]> = [
      [['fail', 'spine1-leaf2', '--blackhole', '--down', '--prefix', 'nosuch1'], /exactly one of --blackhole, --down/],
      [['fail', 'spine1-leaf2', '--loss', '0', '--prefix', 'nosuch1'], /--loss/],
      [['fail', 'spine1-leaf2', '--jitter', '5', '--loss', '1', '--prefix', 'nosuch1'], /--jitter needs --delay/],
      [['fail', 'spine1-leaf2', '--blackhole', '--direction', 'up', '--prefix', 'nosuch1'], /--direction/],
      [['status', '--prefix', 'Bad-Prefix'], /--prefix/],
      [['up', '--spec', '/nonexistent.json', '--prefix', 'nosuch1'], /cannot read testbed spec/],
      [['traffic', '--to', 'vm2'], /--from/],
      [['heal', '--prefix', 'nosuch1'], /either a LINK or --all/],
      [['run', 'package.json', '--prefix', 'nosuch1'], /invalid experiment package\.json/],
    ];
    for (const [args, msg] of cases) {
      const r = tb(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(msg);
    }
  });

  it('vagrant writes the topology and provisioning files from a spec', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ps-vg-'));
    try {
      const r = tb(['vagrant', '--spec', 'examples/testbed/clos-4x4.json', '--out', dir, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { files: string[] };
      expect(out.files).toContain(join(dir, 'provision', 'spine4.sh'));
      const topo = JSON.parse(readFileSync(join(dir, 'topology.json'), 'utf8')) as { machines: Array<{ name: string }> };
      expect(topo.machines).toHaveLength(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
