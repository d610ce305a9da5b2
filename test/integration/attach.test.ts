/**
 * `pathsteer attach/detach/path/maps` as a user runs them (the real CLI in a
 * namespace via nsenter): what attach creates and detach removes (vxlan_sport
 * on egress, probe_steer on ingress), existing clsact hooks, re-attach and pin
 * adoption, pin mismatches, interface resolution, fail-static filters, and
 * privilege errors.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type RunResult } from '../../src/common/exec.js';
import { BpfMap, MapType } from '../../src/loader/index.js';
import { BpfObjects, MapName, PS_STAT_MAX } from '../../src/maps/names.generated.js';
import { addNetns, cleanupPrefix, nsName, nsRun, runPrefix } from '../../src/testbed/netns.js';
import { CLI } from '../support/cli.js';
import { cliOkIn, removePathsteerState, runCliIn } from '../support/netns.js';
import { canLoadBpf, canUseNetns } from '../support/privileged.js';
import { withoutCapabilities } from '../support/unprivileged.js';

const PEER = '198.18.7.2';
const NMAPS = BpfObjects.vxlanSport.maps.length;
interface Filter {
  progId: number;
  point: string;
}
interface AttachOut {
  hookCreated: boolean;
  pinDir: string;
  egress: { program: string; filter: Filter };
  ingress?: { program: string; filter: Filter };
  config: { agentPort: number; vxlanPort: number };
  replacedPins: string[];
}

describe.runIf(canLoadBpf && canUseNetns)('pathsteer attach / detach / path / maps', () => {
  const prefix = runPrefix('dp');
  const ns = nsName(prefix, 't');
  const pinDir = (ifname: string): string => `/sys/fs/bpf/pathsteer/ns/${ns}/${ifname}`;
  const stateFile = (ifname: string): string => `/run/pathsteer/ns/${ns}/${ifname}.json`;
  const cli = (...args: string[]): Promise<RunResult> => runCliIn(ns, args);
  const ok = (...args: string[]): Promise<string> => cliOkIn(ns, args);
  const tc = async (...args: string[]): Promise<string> => (await nsRun(ns, ['tc', ...args])).stdout;

  beforeAll(async () => {
    await addNetns(ns);
    for (const i of ['0', '1']) {
      await nsRun(ns, ['ip', 'link', 'add', `a${i}`, 'type', 'veth', 'peer', 'name', `b${i}`]);
      await nsRun(ns, ['ip', 'link', 'set', `a${i}`, 'up']);
      await nsRun(ns, ['ip', 'link', 'set', `b${i}`, 'up']);
    }
  });
  afterAll(async () => {
    await cli('detach', '--iface', 'a0');
    await cli('detach', '--iface', 'a1');
    await cleanupPrefix(prefix);
    removePathsteerState([ns]);
  });

  it('attach creates the clsact hook it needs; both filters outlive the CLI; detach removes hook, filters, pins and record', async () => {
    const out = JSON.parse(await ok('attach', '--iface', 'a0', '--json')) as AttachOut;
    expect(out.hookCreated).toBe(true);
    expect(out.pinDir).toBe(pinDir('a0'));
    expect(out.config.agentPort).toBe(14789);
    // the attaching process has exited; the programs are still on the hook (fail-static)
    expect(await tc('filter', 'show', 'dev', 'a0', 'egress')).toMatch(new RegExp(`vxlan_sport.*id ${out.egress.filter.progId}`));
    expect(await tc('filter', 'show', 'dev', 'a0', 'ingress')).toMatch(new RegExp(`probe_steer.*id ${out.ingress!.filter.progId}`));
    expect(existsSync(`${pinDir('a0')}/${MapName.path}`)).toBe(true);
    expect(existsSync(stateFile('a0'))).toBe(true);
    await ok('detach', '--iface', 'a0');
    expect(await tc('qdisc', 'show', 'dev', 'a0')).not.toContain('clsact');
    expect(existsSync(pinDir('a0'))).toBe(false);
    expect(existsSync(stateFile('a0'))).toBe(false);
  });

  it('attach accepts an existing clsact; detach keeps it and the filters others put there', async () => {
    await nsRun(ns, ['tc', 'qdisc', 'add', 'dev', 'a1', 'clsact']);
    await nsRun(ns, ['tc', 'filter', 'add', 'dev', 'a1', 'ingress', 'prio', '10', 'protocol', 'ip', 'u32', 'match', 'u32', '0', '0', 'flowid', '1:1']);
    const out = JSON.parse(await ok('attach', '--iface', 'a1', '--json')) as { hookCreated: boolean };
    expect(out.hookCreated).toBe(false);
    expect(await tc('filter', 'show', 'dev', 'a1', 'ingress')).toMatch(/u32[\s\S]*probe_steer|probe_steer[\s\S]*u32/);
    const d = JSON.parse(await ok('detach', '--iface', 'a1', '--json')) as { filterRemoved: boolean; hookDestroyed: boolean; filters: object };
    expect(d).toMatchObject({ filterRemoved: true, hookDestroyed: false, filters: { egress: 'removed', ingress: 'removed' } });
    expect(await tc('qdisc', 'show', 'dev', 'a1')).toContain('clsact');
    expect(await tc('filter', 'show', 'dev', 'a1', 'ingress')).toContain('u32');
    expect(await tc('filter', 'show', 'dev', 'a1', 'ingress')).not.toContain('probe_steer');
    expect(await tc('filter', 'show', 'dev', 'a1', 'egress')).not.toContain('vxlan_sport');
  });

  it('attaching again swaps the program and keeps the table; --keep-maps tables survive detach and are adopted', async () => {
    await ok('attach', '--iface', 'a0');
    await ok('path', 'set', PEER, '--base', '40000', '--nports', '8', '--healthy', 'f0', '--preferred', '0x10');
    const again = JSON.parse(await ok('attach', '--iface', 'a0', '--json')) as { replaced: boolean; reusedPins: string[] };
    expect(again.replaced).toBe(true);
    expect(again.reusedPins).toHaveLength(NMAPS);
    const entries = (): Promise<Array<{ peer: string; healthy: string; preferred: string; flags: string }>> =>
      ok('maps', 'dump', 'path', '--json').then((s) => JSON.parse(s) as Array<{ peer: string; healthy: string; preferred: string; flags: string }>);
    expect(await entries()).toEqual([expect.objectContaining({ peer: PEER, healthy: '0xf0', preferred: '0x10', flags: 'pin,prefer' })]);
    expect(await tc('filter', 'show', 'dev', 'a0', 'egress')).toMatch(/vxlan_sport/);
    // one filter per hook, not two
    expect((await tc('filter', 'show', 'dev', 'a0', 'egress')).match(/direct-action/g)).toHaveLength(1);
    expect((await tc('filter', 'show', 'dev', 'a0', 'ingress')).match(/direct-action/g)).toHaveLength(1);

    const kept = JSON.parse(await ok('detach', '--iface', 'a0', '--keep-maps', '--json')) as { unpinned: string[] };
    expect(kept.unpinned).toEqual([]);
    expect(existsSync(`${pinDir('a0')}/${MapName.path}`)).toBe(true);
    const adopted = JSON.parse(await ok('attach', '--iface', 'a0', '--json')) as { reusedPins: string[]; pinsOwned: string[] };
    expect(adopted.reusedPins).toHaveLength(NMAPS);
    expect(adopted.pinsOwned).toHaveLength(NMAPS);
    expect(await entries()).toHaveLength(1);
    await ok('detach', '--iface', 'a0');
    expect(existsSync(pinDir('a0'))).toBe(false);
  });

  it('--no-ingress attaches egress only; attaching with and without it adds and removes probe_steer; the agent port is kept', async () => {
    const a = JSON.parse(await ok('attach', '--iface', 'a0', '--no-ingress', '--agent-port', '15000', '--json')) as AttachOut;
    expect(a.ingress).toBeUndefined();
    expect(a.config.agentPort).toBe(15000);
    expect(await tc('filter', 'show', 'dev', 'a0', 'ingress')).not.toContain('probe_steer');
    const b = JSON.parse(await ok('attach', '--iface', 'a0', '--json')) as AttachOut;
    expect(b.ingress?.program).toMatch(/^probe_steer/);
    expect(b.config.agentPort).toBe(15000); // kept
    expect(await tc('filter', 'show', 'dev', 'a0', 'ingress')).toMatch(new RegExp(`probe_steer.*id ${b.ingress!.filter.progId}`));
    const c = JSON.parse(await ok('attach', '--iface', 'a0', '--no-ingress', '--no-flow-cache', '--json')) as AttachOut & { flowCache: boolean };
    expect(c.ingress).toBeUndefined();
    expect(c.flowCache).toBe(false);
    expect(await tc('filter', 'show', 'dev', 'a0', 'ingress')).not.toContain('probe_steer');
    expect(await tc('filter', 'show', 'dev', 'a0', 'egress')).toMatch(new RegExp(`vxlan_sport.*id ${c.egress.filter.progId}`));
    const clash = await cli('attach', '--iface', 'a0', '--agent-port', '4789');
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain('agent port 4789 is also a tunnel port');
    // a record written before probe_steer existed (version 1, egress only) still detaches
    const rec = JSON.parse(readFileSync(stateFile('a0'), 'utf8')) as Record<string, unknown> & { egress: Record<string, unknown> };
    const { egress, ...rest } = rec;
    writeFileSync(stateFile('a0'), JSON.stringify({ ...rest, version: 1, ...egress }));
    const d = JSON.parse(await ok('detach', '--iface', 'a0', '--json')) as { filters: object; unpinned: string[] };
    expect(d.filters).toEqual({ egress: 'removed' });
    expect(d.unpinned).toHaveLength(NMAPS);
    expect(existsSync(pinDir('a0'))).toBe(false);
  });

  it('a ps_stats pin of another pathsteer version (fewer counters) is replaced, not refused', async () => {
    mkdirSync(pinDir('a1'), { recursive: true });
    const old = BpfMap.create({ type: MapType.PERCPU_ARRAY, name: MapName.stats, keySize: 4, valueSize: 8, maxEntries: 17 });
    old.pin(`${pinDir('a1')}/${MapName.stats}`);
    old.close();
    const out = JSON.parse(await ok('attach', '--iface', 'a1', '--json')) as AttachOut;
    expect(out.replacedPins).toEqual([MapName.stats]);
    const now = BpfMap.fromPin(`${pinDir('a1')}/${MapName.stats}`);
    expect(now.maxEntries).toBe(PS_STAT_MAX);
    now.close();
    const stats = JSON.parse(await ok('maps', 'dump', 'stats', '--iface', 'a1', '--json')) as Record<string, number>;
    expect(stats.probe_rx).toBe(0);
    await ok('detach', '--iface', 'a1');
    expect(existsSync(pinDir('a1'))).toBe(false);
  });

  it('path and maps find the interface when only one is attached, and ask when there are several', async () => {
    await ok('attach', '--iface', 'a0');
    await ok('path', 'set', PEER, '--base', '40000', '--nports', '4', '--healthy', 'f');
    await ok('attach', '--iface', 'a1');
    const r = await cli('path', 'set', PEER, '--base', '40000', '--nports', '4', '--healthy', 'f');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('attached to a0, a1; say which with --iface IF');
    await ok('detach', '--iface', 'a1');
    const stats = JSON.parse(await ok('maps', 'dump', 'stats', '--json')) as Record<string, number>;
    expect(Object.keys(stats)).toContain('no_entry');
    const config = async (): Promise<{ vxlanPort: number; hashSeed: number; pathGen: number }> =>
      JSON.parse(await ok('maps', 'dump', 'config', '--json')) as { vxlanPort: number; hashSeed: number; pathGen: number };
    const cfg = await config();
    expect(cfg.vxlanPort).toBe(4789);
    expect(cfg.hashSeed).not.toBe(0);
    expect(cfg.pathGen).toBeGreaterThan(0); // attach starts a generation
    // every table write advances path_gen, so vxlan_sport's flow cache cannot serve an older decision
    await ok('path', 'set', PEER, '--base', '40000', '--nports', '4', '--healthy', '7');
    expect((await config()).pathGen).toBe(cfg.pathGen + 1);
    await ok('path', 'del', PEER);
    expect((await config()).pathGen).toBe(cfg.pathGen + 2);
    await ok('path', 'set', PEER, '--base', '40000', '--nports', '4', '--healthy', 'f');
    await ok('path', 'del', PEER);
    const missing = await cli('path', 'del', PEER);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no path entry for ${PEER} on a0`);
    await ok('detach');
    const none = await cli('maps', 'dump', 'path');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('not attached to any interface');
    const gone = await cli('maps', 'dump', 'path', '--iface', 'a0');
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('pathsteer is not attached to a0');
  });

  it('refuses an incompatible pinned map, lists the differences and creates nothing', async () => {
    mkdirSync(pinDir('a0'), { recursive: true });
    const wrong = BpfMap.create({ type: MapType.HASH, name: MapName.path, keySize: 4, valueSize: 80, maxEntries: 65536 });
    wrong.pin(`${pinDir('a0')}/${MapName.path}`);
    wrong.close();
    const r = await cli('attach', '--iface', 'a0');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ps_path value_size 80 != 88');
    expect(await tc('qdisc', 'show', 'dev', 'a0')).not.toContain('clsact');
    expect(existsSync(stateFile('a0'))).toBe(false);
    expect(existsSync(`${pinDir('a0')}/${MapName.config}`)).toBe(false);
    rmSync(pinDir('a0'), { recursive: true, force: true });
  });

  it('an interface that does not exist in the namespace is a usage error', async () => {
    const r = await cli('attach', '--iface', 'nosuch0');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no interface nosuch0 in this network namespace');
  });

  it('without root, every command exits 2 naming the missing capability', async () => {
    const asNobody = (...args: string[]): Promise<RunResult> => run(withoutCapabilities(['node', CLI, ...args]), { allowFail: true });
    const attach = await asNobody('attach', '--iface', 'lo');
    expect(attach.code).toBe(2);
    expect(attach.stderr).toMatch(/pathsteer attach needs CAP_BPF and CAP_NET_ADMIN and CAP_PERFMON/);
    for (const args of [
      ['path', 'set', PEER, '--base', '40000', '--nports', '4', '--healthy', 'f', '--iface', 'lo'],
      ['path', 'del', PEER, '--iface', 'lo'],
      ['maps', 'dump', 'stats', '--iface', 'lo'],
      ['detach', '--iface', 'lo'],
      ['bench', 'dataplane', '--repeat', '1000'],
      ['bench', 'maps', '--peers', '10'],
    ]) {
      const r = await asNobody(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain('needs CAP_BPF');
    }
  });
});
