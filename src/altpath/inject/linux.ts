/**
 * Inject AltPath routes into a Linux peering router (the host itself or a
 * network namespace) with policy routing:
 *
 * - classification: iproute2 6.1 rejects IPv4 `ip rule tos` values above 0x1c,
 *   so an nftables table of our own (`inet pathsteer_altpath` by default) marks
 *   packets in prerouting (priority mangle, before the route lookup):
 *   `ip dscp 12 meta mark set M` (and `ip6 dscp`), optionally only on given
 *   input interfaces (the server-facing ones);
 * - `ip rule fwmark M lookup T` per AltPath DSCP (IPv4 and IPv6), at
 *   priorities `rulePriority + i`: a marked packet looks in its alternate
 *   table first; a prefix without a route there falls through to the next
 *   rules, i.e. to the default routing (Edge Fabric §6.1);
 * - overrides: a table of their own consulted by every packet through a rule
 *   at `overridePriority`, after the DSCP rules and before `main` (32766).
 *   BGP's own routes stay in main, owned by the routing daemon: writing
 *   there would fight zebra (its next update would overwrite ours, or ours
 *   would hide a withdrawal), while an override table is removed in one step
 *   and BGP's choice is back. Marked flows keep measuring their alternates,
 *   because their DSCP rule comes first.
 * - routes: `ip -batch` lines (`route replace P via NH table T`, `route del
 *   P table T`) on stdin, argv only, never a shell string.
 *
 * Idempotent: start replaces our nft table atomically, re-creates our rules
 * (removing whatever sits at our priorities) and reads back our tables, so
 * only real changes are written afterwards. stop removes rules, routes and
 * the nft table unless asked to keep them.
 */
import type { Logger } from '../../common/logger.js';
import { run } from '../../common/exec.js';
import { PathsteerError } from '../../common/errors.js';
import { ipv4Value } from '../../common/net.js';
import { DiffingInjector } from './injector.js';
import { dscpSlot, OVERRIDE_SLOT, type RouteChange, type RouteTables, type TableSlot } from './tables.js';

export interface LinuxInjectorOptions {
  /** Name in status and logs. @default 'linux' or 'linux:<netns>' */
  name?: string;
  /** Network namespace of the router; the current one when omitted. */
  netns?: string;
  /** AltPath DSCP values, in table order. */
  dscps: readonly number[];
  /** Routing table per DSCP. @default 1000 + dscp */
  tables?: Record<number, number>;
  /** Table of overrides. @default 1000 */
  overrideTable?: number;
  /** fwmark of DSCP d is markBase + d. @default 0x7a00 */
  markBase?: number;
  /** Priority of the first DSCP rule (the others follow). @default 1000 */
  rulePriority?: number;
  /** Priority of the override rule; must sit between the DSCP rules and main (32766). @default 1100 */
  overridePriority?: number;
  /** Mark only packets arriving on these interfaces. @default all */
  ingressInterfaces?: readonly string[];
  /** nftables table name (family inet). @default 'pathsteer_altpath' */
  nftTable?: string;
  logger?: Logger;
}

interface IpRoute {
  dst?: string;
  gateway?: string;
}

export class LinuxInjector extends DiffingInjector {
  readonly kind = 'linux';
  readonly name: string;
  private readonly tableOf = new Map<TableSlot, number>();
  private readonly slotOf = new Map<number, TableSlot>();
  private started = false;

  constructor(private readonly o: LinuxInjectorOptions) {
    super(o.logger);
    this.name = o.name ?? (o.netns ? `linux:${o.netns}` : 'linux');
    for (const d of o.dscps) this.tableOf.set(dscpSlot(d), o.tables?.[d] ?? 1000 + d);
    this.tableOf.set(OVERRIDE_SLOT, o.overrideTable ?? 1000);
    for (const [s, t] of this.tableOf) {
      if (this.slotOf.has(t)) throw new PathsteerError(`linux injector: table ${t} is used twice (${this.slotOf.get(t)} and ${s})`);
      this.slotOf.set(t, s);
    }
    const prio = this.rulePriority(0);
    const last = this.rulePriority(o.dscps.length - 1);
    const op = this.overridePriority();
    if (!(op > last && op < 32766 && prio > 0)) {
      throw new PathsteerError(`linux injector: override rule priority ${op} must be above the DSCP rules (${prio}..${last}) and below main (32766)`);
    }
  }

  private rulePriority(i: number): number {
    return (this.o.rulePriority ?? 1000) + i;
  }

  private overridePriority(): number {
    return this.o.overridePriority ?? 1100;
  }

  private mark(dscp: number): number {
    return (this.o.markBase ?? 0x7a00) + dscp;
  }

  private get nftTable(): string {
    return this.o.nftTable ?? 'pathsteer_altpath';
  }

  private ipArgv(...args: string[]): string[] {
    return this.o.netns ? ['ip', '-n', this.o.netns, ...args] : ['ip', ...args];
  }

  private async ipBatch(family: 4 | 6, lines: readonly string[], force = true): Promise<void> {
    if (!lines.length) return;
    const argv = this.ipArgv(...(family === 6 ? ['-6'] : []), ...(force ? ['-force'] : []), '-batch', '-');
    await run(argv, { input: `${lines.join('\n')}\n` });
  }

  private async nft(script: string): Promise<void> {
    await run(['nft', '-f', '-'], { netns: this.o.netns, input: script });
  }

  /** The nftables script that (re)creates our classification table atomically. */
  nftScript(): string {
    const t = this.nftTable;
    const iif = this.o.ingressInterfaces?.length ? `iifname { ${this.o.ingressInterfaces.map((i) => `"${i}"`).join(', ')} } ` : '';
    const rules = this.o.dscps.flatMap((d) => [
      `    ${iif}ip dscp ${d} meta mark set 0x${this.mark(d).toString(16)}`,
      `    ${iif}ip6 dscp ${d} meta mark set 0x${this.mark(d).toString(16)}`,
    ]);
    return [
      `table inet ${t} { }`,
      `delete table inet ${t}`,
      `table inet ${t} {`,
      '  chain prerouting {',
      '    type filter hook prerouting priority mangle; policy accept;',
      ...rules,
      '  }',
      '}',
      '',
    ].join('\n');
  }

  /** `ip rule` lines (without `ip`) adding our rules. */
  ruleLines(): string[] {
    const lines = this.o.dscps.map((d, i) => `rule add fwmark 0x${this.mark(d).toString(16)} lookup ${this.tableOf.get(dscpSlot(d))} priority ${this.rulePriority(i)}`);
    lines.push(`rule add lookup ${this.tableOf.get(OVERRIDE_SLOT)} priority ${this.overridePriority()}`);
    return lines;
  }

  private async removeRules(): Promise<void> {
    const prios = [...this.o.dscps.map((_, i) => this.rulePriority(i)), this.overridePriority()];
    for (const fam of [4, 6] as const) {
      const out = await run(this.ipArgv(...(fam === 6 ? ['-6'] : []), '-j', 'rule', 'show'), { allowFail: true });
      let rules: Array<{ priority?: number }> = [];
      try {
        rules = JSON.parse(out.stdout || '[]') as Array<{ priority?: number }>;
      } catch {
        rules = [];
      }
      const del = rules.filter((r) => r.priority !== undefined && prios.includes(r.priority)).map((r) => `rule del priority ${r.priority}`);
      await this.ipBatch(fam, del).catch(() => undefined);
    }
  }

  async start(): Promise<void> {
    await this.nft(this.nftScript());
    await this.removeRules();
    await this.ipBatch(4, this.ruleLines(), false);
    await this.ipBatch(6, this.ruleLines(), false);
    this.state = await this.readBack();
    this.started = true;
    this.log?.info({ injector: this.name, tables: this.tableNames(), routes_found: [...this.state.values()].reduce((s, m) => s + m.size, 0) }, 'linux injector ready');
  }

  /** An IPv6 route needs an IPv6 next hop: FRR's IPv4-mapped next hops (IPv6 over an IPv4 session) cannot be installed (no RTA_VIA for IPv6 here). */
  protected override accepts(r: { family: 4 | 6; nextHop?: string }): boolean {
    if (r.family === 4) return r.nextHop === undefined || ipv4Value(r.nextHop) >= 0;
    return r.nextHop === undefined || (ipv4Value(r.nextHop) < 0 && !r.nextHop.toLowerCase().startsWith('::ffff:'));
  }

  protected async write(changes: readonly RouteChange[]): Promise<void> {
    const lines = changes.map((c) => {
      const t = this.tableOf.get(c.slot);
      if (t === undefined) throw new PathsteerError(`linux injector: no table for ${c.slot}`);
      return c.op === 'set' ? `route replace ${c.prefix} via ${c.nextHop} table ${t}` : `route del ${c.prefix} table ${t}`;
    });
    await this.ipBatch(4, lines);
  }

  protected async readBack(): Promise<RouteTables> {
    const out: RouteTables = new Map();
    for (const [slot, table] of this.tableOf) {
      const m = new Map<string, { prefix: string; family: 4 | 6; nextHop: string; routeId: string }>();
      for (const fam of [4, 6] as const) {
        const r = await run(this.ipArgv(...(fam === 6 ? ['-6'] : []), '-j', 'route', 'show', 'table', String(table)), { allowFail: true });
        let routes: IpRoute[] = [];
        try {
          routes = JSON.parse(r.stdout || '[]') as IpRoute[];
        } catch {
          routes = [];
        }
        for (const x of routes) {
          if (!x.dst || !x.gateway) continue;
          const prefix = x.dst.includes('/') ? x.dst : `${x.dst}/${fam === 4 ? 32 : 128}`;
          m.set(prefix, { prefix, family: ipv4Value(x.gateway) >= 0 && fam === 4 ? 4 : fam, nextHop: x.gateway, routeId: '' });
        }
      }
      out.set(slot, m);
    }
    return out;
  }

  protected tableNames(): Record<TableSlot, string> {
    return Object.fromEntries([...this.tableOf].map(([s, t]) => [s, String(t)]));
  }

  async stop(opts: { keep?: boolean } = {}): Promise<void> {
    if (!this.started) return;
    this.started = false;
    if (opts.keep) {
      this.log?.info({ injector: this.name }, 'linux injector stopped; routes, rules and marks kept');
      return;
    }
    await this.removeRules();
    for (const t of this.tableOf.values()) {
      await run(this.ipArgv('route', 'flush', 'table', String(t)), { allowFail: true });
      await run(this.ipArgv('-6', 'route', 'flush', 'table', String(t)), { allowFail: true });
    }
    await run(['nft', 'delete', 'table', 'inet', this.nftTable], { netns: this.o.netns, allowFail: true });
    this.state = new Map();
    this.log?.info({ injector: this.name }, 'linux injector stopped; routes, rules and marks removed');
  }
}
