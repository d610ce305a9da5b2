/**
 * A peering router's AltPath forwarding in the pipeline model (DESIGN §5,
 * Edge Fabric §6.1): the DSCP of a packet selects an alternate table
 * (`altpath_class`: exact dscp -> table id), the alternate table is an lpm
 * table keyed by (table id, destination) (`altpath_route`); a miss there
 * falls back to the default routing: `override_route` (controller overrides,
 * consulted first) and then `main_route` (BGP's best, written by whoever
 * plays BGP). IPv4 only, as the rest of gateway-sim.
 *
 * The control-plane interface (`setRoute`, `deleteRoute`, `families`) is the
 * shape of src/altpath's table-target injector: slots are `dscp:<value>` and
 * `override`.
 */
import { UsageError } from '../../src/common/errors.js';
import { formatIpv4 as fmt, ipv4Value, parseIpv4, parseIpv4Prefix } from '../../src/common/net.js';
import { Table } from '../p4/table.js';

export interface PeeringRouterOptions {
  /** AltPath DSCP values; each gets table id 1, 2, ... in this order. */
  dscps: readonly number[];
  /** Routes per table (the declared size, as on the target). @default 65536 */
  size?: number;
}

export interface ForwardResult {
  /** Where the packet leaves, or undefined when no table has a route (dropped). */
  nextHop?: string;
  /** Which table decided: `dscp:<v>`, `override`, `main`, or `miss`. */
  table: string;
}

export class PeeringRouter {
  readonly families: readonly (4 | 6)[] = [4];
  readonly classify: Table;
  readonly alt: Table;
  readonly override: Table;
  readonly main: Table;
  private readonly tableId = new Map<number, number>();
  private readonly dscpOfTable = new Map<number, number>();

  constructor(o: PeeringRouterOptions) {
    const size = o.size ?? 65536;
    this.classify = new Table({ name: 'altpath_class', key: [{ name: 'dscp', bits: 6, match: 'exact' }], actions: [{ name: 'set_table', params: [{ name: 'table', bits: 8 }] }], size: 64 });
    this.alt = new Table({
      name: 'altpath_route',
      key: [
        { name: 'table', bits: 8, match: 'exact' },
        { name: 'dst', bits: 32, match: 'lpm' },
      ],
      actions: [{ name: 'set_nexthop', params: [{ name: 'nh', bits: 32 }] }],
      size: size * Math.max(1, o.dscps.length),
      counters: true,
    });
    const lpm = (name: string): Table =>
      new Table({ name, key: [{ name: 'dst', bits: 32, match: 'lpm' }], actions: [{ name: 'set_nexthop', params: [{ name: 'nh', bits: 32 }] }], size, counters: true });
    this.override = lpm('override_route');
    this.main = lpm('main_route');
    o.dscps.forEach((d, i) => {
      if (!Number.isInteger(d) || d < 1 || d > 63) throw new UsageError(`peering router: DSCP ${d} is not in 1..63`);
      this.tableId.set(d, i + 1);
      this.dscpOfTable.set(i + 1, d);
      this.classify.insert({ match: { dscp: { exact: d } }, action: 'set_table', params: { table: i + 1 } });
    });
  }

  private entry(slot: string, prefix: string): { table: Table; match: Record<string, { exact: number } | { lpm: { value: number; prefixLen: number } }> } {
    const p = parseIpv4Prefix(prefix);
    const lpm = { lpm: { value: p.net, prefixLen: p.len } };
    if (slot === 'override') return { table: this.override, match: { dst: lpm } };
    if (slot === 'main') return { table: this.main, match: { dst: lpm } };
    const m = /^dscp:(\d+)$/.exec(slot);
    const id = m ? this.tableId.get(Number(m[1])) : undefined;
    if (id === undefined) throw new UsageError(`peering router: no table for slot "${slot}"`);
    return { table: this.alt, match: { table: { exact: id }, dst: lpm } };
  }

  /** Install or replace a route (slot `dscp:<v>`, `override` or `main`). */
  setRoute(slot: string, prefix: string, nextHop: string): void {
    const { table, match } = this.entry(slot, prefix);
    table.upsert({ match, action: 'set_nexthop', params: { nh: parseIpv4(nextHop) } });
  }

  /** Remove a route; a route that is not there is not an error. */
  deleteRoute(slot: string, prefix: string): void {
    const { table, match } = this.entry(slot, prefix);
    if (table.get({ match })) table.delete({ match });
  }

  /** Forward one packet: its DSCP's alternate table, else override, else main. */
  forward(pkt: { dscp: number; dst: string }, bytes = 0): ForwardResult {
    const dst = ipv4Value(pkt.dst);
    if (dst < 0) throw new UsageError(`peering router: "${pkt.dst}" is not an IPv4 address`);
    const cls = this.classify.apply([pkt.dscp & 63], bytes);
    if (cls.hit) {
      const id = Number(cls.params[0]);
      const r = this.alt.apply([id, dst], bytes);
      if (r.hit) return { nextHop: fmt(Number(r.params[0])), table: `dscp:${this.dscpOfTable.get(id)}` };
    }
    const o = this.override.apply([dst], bytes);
    if (o.hit) return { nextHop: fmt(Number(o.params[0])), table: 'override' };
    const m = this.main.apply([dst], bytes);
    if (m.hit) return { nextHop: fmt(Number(m.params[0])), table: 'main' };
    return { table: 'miss' };
  }

  /** Routes per slot (prefix -> next hop). */
  routes(): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = { main: {}, override: {} };
    for (const d of this.tableId.keys()) out[`dscp:${d}`] = {};
    const put = (slot: string, dump: ReturnType<Table['dump']>): void => {
      for (const e of dump) {
        const [v, len] = e.match.dst!.split('/');
        out[slot]![`${fmt(Number(v))}/${len}`] = fmt(Number(e.params.nh));
      }
    };
    put('main', this.main.dump());
    put('override', this.override.dump());
    for (const e of this.alt.dump()) {
      const d = this.dscpOfTable.get(Number(e.match.table));
      const [v, len] = e.match.dst!.split('/');
      out[`dscp:${d}`]![`${fmt(Number(v))}/${len}`] = fmt(Number(e.params.nh));
    }
    return out;
  }
}

