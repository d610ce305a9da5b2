/**
 * Stopping the agent in every phase, and bad input before anything is
 * attached, as an operator meets them: the agent runs under plain
 * `ip netns exec` in a namespace with a veth `eth0`. SIGTERM ends it within
 * 2 s in start-up, attach, running and shutdown, leaving the documented state
 * (detached; or kept with --keep-pins); a second signal exits at once. Bad
 * flags, config, interface, privileges, a busy port or a second agent exit 2
 * with one line and leave no filter, pin or record.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/common/exec.js';
import { STATE_ROOT } from '../../src/maps/dataplane.js';
import { runPrefix } from '../../src/testbed/netns.js';
import { cliInNetns, killIfRunning, spawnInNetns, type NetnsProcess } from '../support/hand-fabric.js';
import { removePathsteerState } from '../support/netns.js';
import { canLoadBpf } from '../support/privileged.js';

const STOP_MS = 2000;

describe.runIf(canLoadBpf)('agent lifecycle under ip netns exec', () => {
  const ns = `${runPrefix('lc')}h`;
  const started: NetnsProcess[] = [];
  let dir: string;

  const filters = async (point: 'egress' | 'ingress'): Promise<string> => (await run(['tc', '-n', ns, 'filter', 'show', 'dev', 'eth0', point])).stdout;
  const record = async (): Promise<boolean> => (await run(['test', '-e', `${STATE_ROOT}/ns/${ns}/eth0.json`], { allowFail: true })).code === 0;
  /** Nothing of pathsteer is left on eth0: no filter, no record. */
  const expectClean = async (): Promise<void> => {
    expect(await filters('egress')).toBe('');
    expect(await filters('ingress')).toBe('');
    expect(await record()).toBe(false);
  };
  const expectAttached = async (): Promise<void> => {
    expect(await filters('egress')).toMatch(/vxlan_sport/);
    expect(await filters('ingress')).toMatch(/probe_steer/);
    expect(await record()).toBe(true);
  };
  const agent = (args: string[] = [], env: Record<string, string> = {}): NetnsProcess => {
    const p = spawnInNetns(ns, ['agent', '--iface', 'eth0', '--peer', '198.18.9.2', ...args], env);
    started.push(p);
    return p;
  };
  /** SIGTERM, and how long until it exited. */
  const term = async (p: NetnsProcess, sig: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; ms: number }> => {
    const t0 = performance.now();
    p.child.kill(sig);
    const e = await p.exited;
    return { code: e.code, ms: e.at - t0 };
  };
  const oneLine = (stderr: string): string => {
    const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
    expect(lines, stderr).toHaveLength(1);
    return lines[0]!;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ps-lc-'));
    await run(['ip', 'netns', 'add', ns]);
    await run(['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
    await run(['ip', '-n', ns, 'addr', 'add', '198.18.9.1/24', 'dev', 'eth0']);
    for (const d of ['lo', 'eth0', 'eth1']) await run(['ip', '-n', ns, 'link', 'set', 'dev', d, 'up']);
    await run(['ip', '-n', ns, 'link', 'add', 'nov4', 'type', 'veth', 'peer', 'name', 'nov4p']);
    for (const d of ['nov4', 'nov4p']) await run(['ip', '-n', ns, 'link', 'set', 'dev', d, 'up']);
  });

  afterAll(async () => {
    for (const p of started) killIfRunning(p);
    await cliInNetns(ns, ['detach', '--iface', 'eth0']);
    await run(['ip', 'netns', 'del', ns], { allowFail: true });
    removePathsteerState([ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGTERM during start-up (before attach): exits 0 within 2 s, nothing attached', async () => {
    const p = agent([], { PATHSTEER_TEST_PAUSE: 'startup=20000' });
    await p.waitFor(/"phase":"startup".*test pause/);
    const r = await term(p);
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(STOP_MS);
    await expectClean();
  });

  it('SIGTERM right after attach: exits 0 within 2 s and detaches what it attached', async () => {
    const p = agent([], { PATHSTEER_TEST_PAUSE: 'attach=20000' });
    await p.waitFor(/"phase":"attach".*test pause/);
    await expectAttached();
    const r = await term(p);
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(STOP_MS);
    await expectClean();
  });

  it('SIGINT and SIGTERM while running: exit 0 within 2 s, detached', async () => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const p = agent();
      await p.waitFor(/agent started on eth0/);
      await expectAttached();
      const r = await term(p, sig);
      expect(r.code, sig).toBe(0);
      expect(r.ms, sig).toBeLessThan(STOP_MS);
      expect(p.stderr.join('\n')).toMatch(/stopped and detached/);
      await expectClean();
    }
  });

  it('--keep-pins: SIGTERM leaves the data plane attached; the next agent adopts its table', async () => {
    const p = agent(['--keep-pins']);
    await p.waitFor(/agent started on eth0/);
    // a table entry the next agent must find
    const set = await cliInNetns(ns, ['path', 'set', '198.18.9.7', '--base', '10000', '--nports', '8', '--healthy', 'f0']);
    expect(set.code, set.stderr).toBe(0);
    const r = await term(p);
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(STOP_MS);
    expect(p.stderr.join('\n')).toMatch(/filters and pinned maps kept/);
    try {
      await expectAttached();
      // a new `ip netns exec` has a new bpffs: the maps are found through the attached programs
      const q = agent();
      await q.waitFor(/agent started on eth0/);
      expect(q.stderr.join('\n')).toMatch(/adopted path entries left in the data plane/);
      const dump = await cliInNetns(ns, ['maps', 'dump', 'path', '--json']);
      expect(JSON.parse(dump.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ peer: '198.18.9.7' })]));
      expect((await term(q)).code).toBe(0);
      await expectClean();
    } finally {
      // a failure above must not leave the kept data plane to the tests after this one
      await cliInNetns(ns, ['detach', '--iface', 'eth0']);
    }
  });

  it('SIGTERM during a shutdown that hangs: the stop deadline ends it within 2 s, still detaching', async () => {
    const p = agent([], { PATHSTEER_TEST_PAUSE: 'shutdown=20000' });
    await p.waitFor(/agent started on eth0/);
    const r = await term(p);
    expect(r.ms).toBeLessThan(STOP_MS);
    expect(r.code).toBe(1);
    expect(p.stderr.join('\n')).toMatch(/did not stop within 1500 ms of SIGTERM/);
    await expectClean();
  });

  it('a second signal during shutdown exits at once, still detaching', async () => {
    const p = agent([], { PATHSTEER_TEST_PAUSE: 'shutdown=20000' });
    await p.waitFor(/agent started on eth0/);
    p.child.kill('SIGTERM');
    await p.waitFor(/"phase":"shutdown".*test pause/);
    const r = await term(p, 'SIGINT');
    expect(r.ms).toBeLessThan(500);
    expect(r.code).toBe(130);
    expect(p.stderr.join('\n')).toMatch(/SIGINT again: exiting now/);
    await expectClean();
  });

  describe('bad input: exit 2, one line, nothing attached', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['a prefix length above 32', ['--allow', '10.0.0.0/33'], /--allow\[0\]: not an IPv4 prefix .*33 is above 32/],
      ['an address that is not one', ['--allow', '198.18.300.0/24'], /--allow\[0\]: not an IPv4 prefix/],
      ['a bad peer', ['--peer', '198.18.9'], /--peer \(peers\)\[1\]: not an IPv4 address/],
      ['a missing interface', ['--iface', 'nope0'], /no interface nope0 in this network namespace/],
      ['an interface without IPv4', ['--iface', 'nov4'], /interface nov4 is down or has no IPv4 address/],
      ['a bad probe interval', ['--probe-interval', 'soon'], /--probe-interval/],
    ];
    for (const [what, args, re] of cases) {
      it(what, async () => {
        const r = await cliInNetns(ns, ['agent', '--iface', 'eth0', '--peer', '198.18.9.2', ...args]);
        expect(r.code, r.stderr).toBe(2);
        expect(oneLine(r.stderr)).toMatch(re);
        expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
        await expectClean();
      });
    }

    it('a bad config file (unknown key, wrong type, not JSON)', async () => {
      const files: Array<[string, RegExp]> = [
        ['{"iface": "eth0", "probeIntervalMs": "fast"}', /probeIntervalMs|--probe-interval/],
        ['{"iface": "eth0", "allow": ["10.0.0.0/33"]}', /allow\[0\]: not an IPv4 prefix/],
        ['{"iface": "eth0", "colour": "blue"}', /colour/],
        ['{"iface": "eth0",', /not valid JSON/],
      ];
      for (const [text, re] of files) {
        const f = join(dir, 'agent.json');
        writeFileSync(f, text);
        const r = await cliInNetns(ns, ['agent', '--config', f]);
        expect(r.code, `${text}: ${r.stderr}`).toBe(2);
        expect(oneLine(r.stderr)).toMatch(re);
        await expectClean();
      }
    });

    it('missing privileges: the capability is named', async () => {
      const r = await run(['ip', 'netns', 'exec', ns, 'setpriv', '--bounding-set=-all', '--inh-caps=-all', '--no-new-privs', 'node', CLI_PATH, 'agent', '--iface', 'eth0'], { allowFail: true });
      expect(r.code, r.stderr).toBe(2);
      expect(oneLine(r.stderr)).toMatch(/needs CAP_BPF and CAP_NET_ADMIN and CAP_PERFMON/);
      await expectClean();
    });

    it('no bpffs and no right to mount one: the cause and the fix, promptly (no retry loop)', async () => {
      // root with BPF and network rights but without CAP_SYS_ADMIN cannot mount bpffs over ip netns exec's fresh /sys
      const t0 = performance.now();
      const r = await run(['ip', 'netns', 'exec', ns, 'setpriv', '--bounding-set=-sys_admin', '--inh-caps=-sys_admin', 'node', CLI_PATH, 'agent', '--iface', 'eth0'], { allowFail: true, timeoutMs: 20_000 });
      expect(performance.now() - t0).toBeLessThan(10_000);
      expect(r.code, r.stderr).toBe(2);
      expect(oneLine(r.stderr)).toMatch(/\/sys\/fs\/bpf is sysfs, not a BPF filesystem .* mounting one failed: EPERM; run `mount -t bpf bpf \/sys\/fs\/bpf`/);
      await expectClean();
    });

    it('the agent port in use: exit 2 naming it, nothing attached', async () => {
      const blocker = spawnHolder(ns);
      await blocker.ready;
      try {
        const r = await cliInNetns(ns, ['agent', '--iface', 'eth0']);
        expect(r.code, r.stderr).toBe(2);
        expect(oneLine(r.stderr)).toMatch(/agent port 14789 is already in use/);
        await expectClean();
      } finally {
        blocker.kill();
      }
    });

    it('a second agent on the same interface: exit 2; the first keeps running, attached', async () => {
      const first = agent();
      await first.waitFor(/agent started on eth0/);
      const r = await cliInNetns(ns, ['agent', '--iface', 'eth0', '--agent-port', '14790']);
      expect(r.code, r.stderr).toBe(2);
      expect(oneLine(r.stderr)).toMatch(/an agent is already running on eth0/);
      await expectAttached();
      const st = await cliInNetns(ns, ['agent', 'status', '--json']);
      expect(st.code, st.stderr).toBe(0);
      expect((await term(first)).code).toBe(0);
      await expectClean();
    });
  });
});

const CLI_PATH = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;

/** A process holding UDP port 14789 in the namespace (ended by PID). */
function spawnHolder(ns: string): { ready: Promise<void>; kill(): void } {
  const argv = ['node', '-e', "require('node:dgram').createSocket('udp4').bind(14789, () => console.log('bound')); setTimeout(() => {}, 120000)"];
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('bound') && resolve());
    child.on('exit', (c) => reject(new Error(`port holder exited ${c}`)));
  });
  return { ready, kill: () => child.pid && child.exitCode === null && child.kill('SIGKILL') };
}
