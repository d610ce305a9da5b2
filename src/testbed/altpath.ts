/**
 * The AltPath testbed (Edge Fabric §6 in namespaces): a front-end server, a
 * peering router running FRR (zebra + bgpd with the BMP module, BMP to a
 * collector) with eBGP sessions to three provider routers (FRR bgpd), and a
 * client behind the providers holding addresses in 203.0.113.0/24 and
 * 198.51.100.0/24. Providers announce both prefixes with different AS-path
 * lengths (prepends) and add different one-way delays toward the client
 * (ps-delayq on NFQUEUE: this kernel has no netem).
 *
 *   server (198.18.10.2) --srv/pr-- pr (AS 65000) --p1..p3/pr-- provider i (AS 65000+i) --cl/pi-- client
 *
 * Addresses: server link 198.18.10.0/30; PR-provider i 198.18.11.4i/30 (PR
 * .4i+1, provider .4i+2); provider i-client 198.18.12.4i/30 (provider .4i+1,
 * client .4i+2); client 203.0.113.10 and 198.51.100.10 on lo, returning
 * through provider 1. Providers may also announce 2001:db8:100::/48 over the
 * IPv4 sessions (`ipv6: true`, control plane only).
 *
 * FRR daemons run directly (no system service): per-daemon config, pid file
 * and vty socket directory in a temp dir, `-S` (no user switch), zebra only
 * on the peering router (it installs BGP's best routes in `main`), providers
 * with `-Z`. Everything started is stopped by PID in `down()`, which also
 * deletes the namespaces; `down` works after a failure halfway through `up`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PathsteerError } from '../common/errors.js';
import { run } from '../common/exec.js';
import { deleteRule, insertRule, queueRule, startDelayHelper } from './failures.js';
import { addNetns, addVeth, cleanupPrefix, nsenterArgv, nsName, runPrefix } from './netns.js';
import { repoRoot } from './paths.js';
import { alive, jsonLines, stopHelper } from './processes.js';
import type { InstalledRule } from './state.js';

export const FRR_DIR = '/usr/lib/frr';
export const PR_ASN = 65000;
export const CLIENT_ADDRS = { '203.0.113.0/24': '203.0.113.10', '198.51.100.0/24': '198.51.100.10' } as const;
export const PREFIXES = Object.keys(CLIENT_ADDRS) as Array<keyof typeof CLIENT_ADDRS>;
export const IPV6_PREFIX = '2001:db8:100::/48';

export interface ProviderSpec {
  /** One-way delay added toward the client (ms). */
  delayMs: number;
  /** Extra copies of the provider's ASN prepended per prefix (0 = path length 1). */
  prepend: Partial<Record<(typeof PREFIXES)[number] | typeof IPV6_PREFIX, number>>;
}

export interface AltpathTestbedOptions {
  /** Namespace prefix. @default runPrefix('ap') */
  prefix?: string;
  /** Three providers by default: provider 1 best by AS path but slowest. */
  providers?: ProviderSpec[];
  /** Providers also announce 2001:db8:100::/48. @default false */
  ipv6?: boolean;
  /** BGP keepalive/hold (s); short so a session failure is noticed fast. @default [1, 3] */
  timers?: [number, number];
}

export const DEFAULT_PROVIDERS: ProviderSpec[] = [
  { delayMs: 40, prepend: { '203.0.113.0/24': 0, '198.51.100.0/24': 2, [IPV6_PREFIX]: 0 } },
  { delayMs: 2, prepend: { '203.0.113.0/24': 1, '198.51.100.0/24': 1, [IPV6_PREFIX]: 1 } },
  { delayMs: 15, prepend: { '203.0.113.0/24': 2, '198.51.100.0/24': 0, [IPV6_PREFIX]: 2 } },
];

export interface ProviderInfo {
  index: number;
  name: string;
  netns: string;
  asn: number;
  /** PR's address on the provider link (the provider's BGP neighbour). */
  prAddress: string;
  /** The provider's address on the PR link: next hop of its routes. */
  address: string;
  /** PR's interface toward it. */
  prIfname: string;
  delayMs: number;
  prepend: ProviderSpec['prepend'];
}

interface Daemon {
  netns: string;
  pid: number;
  program: string;
  log: string;
}

export const SERVER_ADDR = '198.18.10.2';
export const PR_SERVER_ADDR = '198.18.10.1';

export function providerInfo(prefix: string, specs: readonly ProviderSpec[]): ProviderInfo[] {
  return specs.map((s, k) => {
    const i = k + 1;
    return {
      index: i,
      name: `p${i}`,
      netns: nsName(prefix, `p${i}`),
      asn: PR_ASN + i,
      prAddress: `198.18.11.${4 * i + 1}`,
      address: `198.18.11.${4 * i + 2}`,
      prIfname: `p${i}`,
      delayMs: s.delayMs,
      prepend: s.prepend,
    };
  });
}

/** FRR config of the peering router's bgpd (BMP to 127.0.0.1:bmpPort when given). */
export function prBgpConfig(providers: readonly ProviderInfo[], o: { bmpPort?: number; ipv6?: boolean; timers: [number, number] }): string {
  // The peering router announces nothing to its providers (NONE out): it has no prefixes of its own
  // here, and FRR 8.4 would re-announce IPv6 routes over the IPv4 sessions with an unusable next hop.
  const l = ['frr defaults traditional', 'hostname pr', 'log stdout informational', 'route-map NONE deny 10', 'exit', `router bgp ${PR_ASN}`, ` bgp router-id ${PR_SERVER_ADDR}`, ' no bgp ebgp-requires-policy'];
  for (const p of providers) {
    l.push(` neighbor ${p.address} remote-as ${p.asn}`, ` neighbor ${p.address} timers ${o.timers[0]} ${o.timers[1]}`, ` neighbor ${p.address} timers connect 1`);
  }
  l.push(' address-family ipv4 unicast');
  // soft-reconfiguration inbound keeps the Adj-RIB-In that FRR 8.4's BMP pre-policy monitoring reads
  // (without it pre-policy route monitoring sends only withdrawals: FRR issue 10240)
  for (const p of providers) l.push(`  neighbor ${p.address} route-map NONE out`, `  neighbor ${p.address} soft-reconfiguration inbound`);
  l.push(' exit-address-family');
  if (o.ipv6) {
    l.push(' address-family ipv6 unicast');
    for (const p of providers) l.push(`  neighbor ${p.address} activate`, `  neighbor ${p.address} route-map NONE out`, `  neighbor ${p.address} soft-reconfiguration inbound`);
    l.push(' exit-address-family');
  }
  if (o.bmpPort !== undefined) {
    l.push(' bmp targets collector', `  bmp connect 127.0.0.1 port ${o.bmpPort} min-retry 100 max-retry 1000`);
    for (const af of o.ipv6 ? ['ipv4', 'ipv6'] : ['ipv4']) l.push(`  bmp monitor ${af} unicast pre-policy`, `  bmp monitor ${af} unicast post-policy`);
    l.push(' exit');
  }
  return `${l.join('\n')}\n`;
}

/** FRR config of provider i's bgpd: announces the prefixes, prepending its ASN per prefix. */
export function providerBgpConfig(p: ProviderInfo, o: { ipv6?: boolean; timers: [number, number] }): string {
  const l = ['frr defaults traditional', `hostname ${p.name}`, 'log stdout informational'];
  const prefixes: string[] = [...PREFIXES, ...(o.ipv6 ? [IPV6_PREFIX] : [])];
  prefixes.forEach((pf, k) => l.push(`${pf.includes(':') ? 'ipv6' : 'ip'} prefix-list PL${k} seq 5 permit ${pf}`));
  prefixes.forEach((pf, k) => {
    l.push(`route-map OUT permit ${10 * (k + 1)}`, ` match ${pf.includes(':') ? 'ipv6' : 'ip'} address prefix-list PL${k}`);
    const n = p.prepend[pf as keyof ProviderSpec['prepend']] ?? 0;
    if (n > 0) l.push(` set as-path prepend ${Array(n).fill(p.asn).join(' ')}`);
    l.push('exit');
  });
  l.push('route-map OUT permit 1000', 'exit');
  l.push(`router bgp ${p.asn}`, ` bgp router-id ${p.address}`, ' no bgp ebgp-requires-policy', ' no bgp network import-check');
  l.push(` neighbor ${p.prAddress} remote-as ${PR_ASN}`, ` neighbor ${p.prAddress} timers ${o.timers[0]} ${o.timers[1]}`, ` neighbor ${p.prAddress} timers connect 1`);
  l.push(' address-family ipv4 unicast');
  for (const pf of PREFIXES) l.push(`  network ${pf}`);
  l.push(`  neighbor ${p.prAddress} route-map OUT out`, ' exit-address-family');
  if (o.ipv6) {
    l.push(' address-family ipv6 unicast', `  network ${IPV6_PREFIX}`, `  neighbor ${p.prAddress} activate`, `  neighbor ${p.prAddress} route-map OUT out`, ' exit-address-family');
  }
  return `${l.join('\n')}\n`;
}

/** A listening TCP server opened inside namespace ns and handed to this process (it keeps working here). */
export function listenInNetns(ns: string, host: string, port: number): Promise<Server> {
  const code =
    "const net=require('net');const s=net.createServer();s.on('error',e=>{process.send({error:e.message});process.exit(1)});" +
    `s.listen(${Number(port)},${JSON.stringify(host)},()=>{process.send({port:s.address().port},s,()=>{s.close();process.disconnect();});});`;
  const argv = nsenterArgv(ns, [process.execPath, '-e', code]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new PathsteerError(`cannot listen on ${host}:${port} in ${ns}: timeout ${err}`));
    }, 10_000);
    child.on('message', (m: { error?: string }, handle: unknown) => {
      clearTimeout(t);
      if (m.error || !handle) reject(new PathsteerError(`cannot listen on ${host}:${port} in ${ns}: ${m.error ?? 'no handle'}`));
      else resolve(handle as Server);
    });
    child.on('exit', (code) => {
      if (code) {
        clearTimeout(t);
        reject(new PathsteerError(`cannot listen on ${host}:${port} in ${ns}: helper exited ${code} ${err}`));
      }
    });
  });
}

export class AltpathTestbed {
  readonly dir: string;
  readonly providers: ProviderInfo[];
  private readonly daemons: Daemon[] = [];
  private readonly helpers: Array<{ netns: string; pid: number; program: string; log: string }> = [];
  private readonly rules: InstalledRule[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly timers: [number, number];

  private constructor(
    readonly prefix: string,
    readonly opts: AltpathTestbedOptions,
  ) {
    this.providers = providerInfo(prefix, opts.providers ?? DEFAULT_PROVIDERS);
    this.dir = mkdtempSync(join(tmpdir(), `pathsteer-altpath-${prefix}-`));
    this.timers = opts.timers ?? [1, 3];
  }

  get ns(): { server: string; pr: string; client: string; providers: string[] } {
    return { server: nsName(this.prefix, 'srv'), pr: nsName(this.prefix, 'pr'), client: nsName(this.prefix, 'cl'), providers: this.providers.map((p) => p.netns) };
  }

  /** Create namespaces, links, addresses, static routes and the provider delays (no BGP yet: `startBgp`). */
  static async up(opts: AltpathTestbedOptions = {}): Promise<AltpathTestbed> {
    const tb = new AltpathTestbed(opts.prefix ?? runPrefix('ap'), opts);
    try {
      await tb.build();
    } catch (e) {
      await tb.down();
      throw e;
    }
    return tb;
  }

  private async build(): Promise<void> {
    const { server, pr, client } = this.ns;
    for (const n of [server, pr, client, ...this.ns.providers]) await addNetns(n);
    const sys = (ns: string, fwd: boolean): Promise<unknown> =>
      run(['sysctl', '-q', '-w', `net.ipv4.ip_forward=${fwd ? 1 : 0}`, 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', `net.ipv6.conf.all.forwarding=${fwd ? 1 : 0}`], { netns: ns });
    await sys(server, false);
    await sys(client, false);
    await sys(pr, true);
    for (const p of this.providers) await sys(p.netns, true);
    const ip = (ns: string, lines: string[]): Promise<unknown> => run(['ip', '-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
    await addVeth({ ns: pr, ifname: 'srv' }, { ns: server, ifname: 'pr' });
    await ip(pr, [`addr add ${PR_SERVER_ADDR}/30 dev srv`]);
    await ip(server, [`addr add ${SERVER_ADDR}/30 dev pr`, `route add default via ${PR_SERVER_ADDR}`]);
    const clientLines = [`addr add ${CLIENT_ADDRS['203.0.113.0/24']}/32 dev lo`, `addr add ${CLIENT_ADDRS['198.51.100.0/24']}/32 dev lo`];
    for (const p of this.providers) {
      const i = p.index;
      await addVeth({ ns: pr, ifname: p.prIfname }, { ns: p.netns, ifname: 'pr' });
      await addVeth({ ns: p.netns, ifname: 'cl' }, { ns: client, ifname: `p${i}` });
      await ip(pr, [`addr add ${p.prAddress}/30 dev ${p.prIfname}`]);
      const clAddr = `198.18.12.${4 * i + 2}`;
      await ip(p.netns, [
        `addr add ${p.address}/30 dev pr`,
        `addr add 198.18.12.${4 * i + 1}/30 dev cl`,
        `route add 198.18.10.0/30 via ${p.prAddress}`,
        ...PREFIXES.map((pf) => `route add ${pf} via ${clAddr}`),
      ]);
      clientLines.push(`addr add ${clAddr}/30 dev p${i}`);
    }
    clientLines.push(`route add default via 198.18.12.5 src ${CLIENT_ADDRS['203.0.113.0/24']}`);
    await ip(client, clientLines);
    // provider delays toward the client (not on BGP: only packets to the client prefixes)
    for (const p of this.providers) {
      if (!p.delayMs) continue;
      const h = await startDelayHelper(this.dir, p.netns, 1, { delayMs: p.delayMs });
      this.helpers.push({ netns: h.netns, pid: h.pid, program: h.program, log: h.log });
      for (const pf of PREFIXES) {
        const rule: InstalledRule = { netns: p.netns, table: 'raw', chain: 'PREROUTING', spec: queueRule('pr', `pathsteer:altpath-delay-${p.name}`, 1, ['-d', pf]) };
        await insertRule(rule);
        this.rules.push(rule);
      }
    }
  }

  private frrArgs(name: string): { pid: string; vty: string } {
    return { pid: join(this.dir, `${name}.pid`), vty: join(this.dir, `vty-${name}`) };
  }

  private async spawnDaemon(netns: string, name: string, argv: string[]): Promise<Daemon> {
    const log = join(this.dir, `${name}.log`);
    const fd = openSync(log, 'w');
    const full = nsenterArgv(netns, argv);
    const child = spawn(full[0]!, full.slice(1), { detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.unref();
    if (!child.pid) throw new PathsteerError(`cannot start ${argv[0]} in ${netns}`);
    const d: Daemon = { netns, pid: child.pid, program: argv[0]!.split('/').pop()!, log };
    this.daemons.push(d);
    await sleep(100);
    if (!alive(d.pid)) throw new PathsteerError(`${argv.join(' ')} in ${netns} exited: ${readFileSync(log, 'utf8').trim()}`);
    return d;
  }

  /**
   * Start FRR: zebra and bgpd (with BMP to 127.0.0.1:bmpPort in the peering
   * router's namespace, when given) on the peering router, bgpd on every
   * provider. Waits until every session is Established (timeoutMs).
   */
  async startBgp(o: { bmpPort?: number; timeoutMs?: number } = {}): Promise<void> {
    if (!existsSync(join(FRR_DIR, 'bgpd'))) throw new PathsteerError(`${FRR_DIR}/bgpd is missing: install frr (scripts/setup.sh)`);
    const { pr } = this.ns;
    // zebra cannot skip its user switch (-S is bgpd's): it runs as frr, so frr owns the directory
    await run(['chown', 'frr:frr', this.dir]);
    const z = this.frrArgs('zebra');
    const zsock = join(this.dir, 'zserv.api');
    writeFileSync(join(this.dir, 'zebra.conf'), 'hostname pr-zebra\nlog stdout informational\n');
    await this.spawnDaemon(pr, 'zebra', [join(FRR_DIR, 'zebra'), '-P', '0', '-f', join(this.dir, 'zebra.conf'), '-i', z.pid, '--vty_socket', this.dir, '-z', zsock]);
    for (let i = 0; i < 100 && !existsSync(zsock); i++) await sleep(50);
    const b = this.frrArgs('bgpd-pr');
    writeFileSync(join(this.dir, 'bgpd-pr.conf'), prBgpConfig(this.providers, { bmpPort: o.bmpPort, ipv6: this.opts.ipv6, timers: this.timers }));
    await this.spawnDaemon(pr, 'bgpd-pr', [join(FRR_DIR, 'bgpd'), '-S', '-P', '0', '-p', '179', ...(o.bmpPort !== undefined ? ['-M', 'bmp'] : []), '-f', join(this.dir, 'bgpd-pr.conf'), '-i', b.pid, '--vty_socket', this.dir, '-z', zsock]);
    for (const p of this.providers) {
      const a = this.frrArgs(`bgpd-${p.name}`);
      const conf = join(this.dir, `bgpd-${p.name}.conf`);
      writeFileSync(conf, providerBgpConfig(p, { ipv6: this.opts.ipv6, timers: this.timers }));
      mkdirSync(a.vty, { recursive: true });
      await this.spawnDaemon(p.netns, `bgpd-${p.name}`, [join(FRR_DIR, 'bgpd'), '-S', '-Z', '-P', '0', '-f', conf, '-i', a.pid, '--vty_socket', a.vty]);
    }
    await this.waitEstablished(o.timeoutMs ?? 30_000);
  }

  private vtyDir(router: 'pr' | string): string {
    return router === 'pr' ? this.dir : this.frrArgs(`bgpd-${router}`).vty;
  }

  /** Run vtysh commands on the peering router ('pr') or a provider ('p1'..); returns stdout. */
  async vtysh(router: 'pr' | string, cmds: readonly string[]): Promise<string> {
    const dir = this.vtyDir(router);
    if (router !== 'pr' && !existsSync(dir)) throw new PathsteerError(`no FRR vty for ${router}`);
    const argv = ['vtysh', '--vty_socket', dir, ...cmds.flatMap((c) => ['-c', c])];
    const r = await run(argv, { allowFail: true, timeoutMs: 20_000 });
    if (r.code !== 0) throw new PathsteerError(`vtysh ${cmds.join(' / ')} on ${router}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /** Peer states as the peering router sees them (neighbour address -> state). */
  async sessions(): Promise<Record<string, string>> {
    const out = await this.vtysh('pr', ['show bgp ipv4 unicast summary json']);
    const j = JSON.parse(out || '{}') as { peers?: Record<string, { state: string }> };
    return Object.fromEntries(Object.entries(j.peers ?? {}).map(([k, v]) => [k, v.state]));
  }

  async waitEstablished(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: Record<string, string> = {};
    for (;;) {
      try {
        last = await this.sessions();
        if (this.providers.every((p) => last[p.address] === 'Established')) return;
      } catch {
        // bgpd still starting
      }
      if (Date.now() > deadline) throw new PathsteerError(`BGP sessions not established after ${timeoutMs} ms: ${JSON.stringify(last)}`);
      await sleep(200);
    }
  }

  /** Stop announcing a prefix at a provider (1-based index). */
  async withdraw(provider: number, prefix: string): Promise<void> {
    const p = this.providers[provider - 1]!;
    await this.vtysh(p.name, ['configure terminal', `router bgp ${p.asn}`, `address-family ${prefix.includes(':') ? 'ipv6' : 'ipv4'} unicast`, `no network ${prefix}`]);
  }

  async announce(provider: number, prefix: string): Promise<void> {
    const p = this.providers[provider - 1]!;
    await this.vtysh(p.name, ['configure terminal', `router bgp ${p.asn}`, `address-family ${prefix.includes(':') ? 'ipv6' : 'ipv4'} unicast`, `network ${prefix}`]);
  }

  /** Shut (or re-enable) the provider's session to the peering router. */
  async shutdownSession(provider: number, shut = true): Promise<void> {
    const p = this.providers[provider - 1]!;
    await this.vtysh(p.name, ['configure terminal', `router bgp ${p.asn}`, `${shut ? '' : 'no '}neighbor ${p.prAddress} shutdown`]);
  }

  /** Next hop of a prefix in a routing table of the peering router (undefined: no route). */
  async routeIn(table: string | number, prefix: string): Promise<string | undefined> {
    const r = await run(['ip', '-n', this.ns.pr, '-j', ...(prefix.includes(':') ? ['-6'] : []), 'route', 'show', 'table', String(table), prefix], { allowFail: true });
    try {
      const j = JSON.parse(r.stdout || '[]') as Array<{ gateway?: string }>;
      return j[0]?.gateway;
    } catch {
      return undefined;
    }
  }

  /**
   * Count packets toward the client per provider: an nftables counter in each
   * provider namespace for packets from the PR to `dst` with protocol/port.
   * Returns a reader of the counts (provider name -> packets).
   */
  async countToClient(tag: string, match: { dst: string; proto: 'udp' | 'tcp'; dport?: number; sport?: number }): Promise<() => Promise<Record<string, number>>> {
    const table = `pscount_${tag}`;
    const m = `ip daddr ${match.dst} meta l4proto ${match.proto}${match.dport !== undefined ? ` ${match.proto} dport ${match.dport}` : ''}${match.sport !== undefined ? ` ${match.proto} sport ${match.sport}` : ''}`;
    for (const p of this.providers) {
      await run(['nft', '-f', '-'], { netns: p.netns, input: `table ip ${table} {\n counter n { }\n chain to_client {\n  type filter hook forward priority 0; policy accept;\n  iifname "pr" ${m} counter name n\n }\n}\n` });
    }
    return async () => {
      const out: Record<string, number> = {};
      for (const p of this.providers) {
        const r = await run(['nft', '-j', 'list', 'counter', 'ip', table, 'n'], { netns: p.netns });
        const j = JSON.parse(r.stdout) as { nftables: Array<{ counter?: { packets: number } }> };
        out[p.name] = j.nftables.find((x) => x.counter)?.counter?.packets ?? 0;
      }
      return out;
    };
  }

  /** Start a process with argv inside ns (stdout/stderr to a log in the testbed dir); stopped in down(). */
  spawnIn(ns: string, name: string, argv: string[]): ChildProcess {
    const full = nsenterArgv(ns, argv);
    const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    child.stderr!.on('data', (d: Buffer) => writeFileSync(join(this.dir, `${name}.err`), d, { flag: 'a' }));
    return child;
  }

  /** The many-short-TCP-connections server in the server namespace; resolves when it listens. */
  async startTcpServer(port: number, bytes = 2000): Promise<ChildProcess> {
    const child = this.spawnIn(this.ns.server, 'tcp-server', ['node', churnWorker(), 'server', JSON.stringify({ host: SERVER_ADDR, port, bytes })]);
    await firstJson(child, (j) => j.ready === true, 10_000);
    return child;
  }

  /** The client makes `count` short TCP connections to the server from its addresses (both prefixes by default). */
  async tcpChurn(o: { port: number; count: number; sources?: string[]; concurrency?: number; timeoutMs?: number }): Promise<{ ok: number; failed: number; ms: number; errors: string[] }> {
    const cfg = { dst: SERVER_ADDR, port: o.port, sources: o.sources ?? Object.values(CLIENT_ADDRS), count: o.count, concurrency: o.concurrency ?? 8, timeoutMs: o.timeoutMs ?? 5000 };
    const child = this.spawnIn(this.ns.client, 'tcp-client', ['node', churnWorker(), 'client', JSON.stringify(cfg)]);
    const j = await firstJson(child, (x) => x.done === true, 60_000 + o.count * 100);
    return j as unknown as { ok: number; failed: number; ms: number; errors: string[] };
  }

  /** Stop every daemon and helper by PID, remove the delay rules and the namespaces and the temp dir. Safe twice. */
  async down(): Promise<void> {
    for (const c of this.children.splice(0)) if (c.exitCode === null && c.pid) c.kill('SIGTERM');
    for (const d of this.daemons.splice(0).reverse()) await stopHelper(d, 3000);
    for (const r of this.rules.splice(0)) await deleteRule(r);
    for (const h of this.helpers.splice(0)) await stopHelper(h);
    await cleanupPrefix(this.prefix);
    if (!process.env.PATHSTEER_KEEP_TESTBED_LOGS) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Log text of a daemon ('zebra', 'bgpd-pr', 'bgpd-p1', ...), for failure messages. */
  log(name: string): string {
    const f = join(this.dir, `${name}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }
}

function churnWorker(): string {
  const p = join(repoRoot(), 'dist', 'src', 'testbed', 'tcp-churn-worker.js');
  if (!existsSync(p)) throw new PathsteerError(`${p} is missing; build pathsteer first (npm run build)`);
  return p;
}

function firstJson(child: ChildProcess, pred: (j: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new PathsteerError(`no answer from ${child.spawnargs.join(' ')} within ${timeoutMs} ms`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (const j of jsonLines(buf)) {
        if (pred(j)) {
          clearTimeout(t);
          resolve(j);
          return;
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      const j = jsonLines(buf).find(pred);
      if (j) resolve(j);
      else reject(new PathsteerError(`${child.spawnargs.join(' ')} exited ${code}: ${buf}`));
    });
  });
}
