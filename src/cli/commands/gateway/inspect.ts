/**
 * `pathsteer gateway inspect [--table path|resources|<table>] [--json]`: the
 * tables of a small built-in example gateway (ZooRoute Fig. 11 as PBM, Fig. 12
 * as HI, a stateful vIP, one update delivered as a table-update packet).
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { buildExample } from '../../../../gateway-sim/example.js';
import type { Gateway } from '../../../../gateway-sim/gateway.js';
import { RegisterArray } from '../../../../gateway-sim/p4/register.js';
import { Table } from '../../../../gateway-sim/p4/table.js';
import { UsageError } from '../../../common/errors.js';
import { action, parseOptions, type CliContext, type CommandOutput } from '../../command.js';

const Options = z.object({
  table: z.string().regex(/^[a-z_0-9]{1,40}$/, 'a table name (path, resources, or a P4 table such as pbm_priority)').default('path'),
  json: z.boolean().optional(),
});

interface PeerRow {
  [k: string]: unknown;
  choices: Array<{ hash: number; port: number | null }>;
}

function pathView(name: string, gw: Gateway): { name: string; scheme: string; np: number; base: number; peers: PeerRow[] } {
  const rows: PeerRow[] = [];
  const add = (peer: number, view: Record<string, unknown>, hashes: number): void => {
    const choices = Array.from({ length: hashes }, (_, h) => ({ hash: h, port: gw.select(peer, h)?.port ?? null }));
    rows.push({ ...view, choices });
  };
  for (const p of gw.path.peers()) add(p, gw.path.view(p)!, gw.path.np);
  for (const p of gw.stateful.peers()) {
    const v = gw.stateful.view(p)!;
    add(p, v, v.span as number);
  }
  return { name, scheme: gw.path.scheme, np: gw.path.np, base: gw.path.basePort, peers: rows };
}

function objectsOf(gw: Gateway): Array<Table | RegisterArray> {
  const out: Array<Table | RegisterArray> = [];
  for (const o of gw.pipeline.program.objects()) {
    out.push(o.object);
    if (o.object instanceof Table) out.push(...o.object.directRegisters);
  }
  return out;
}

export function inspectGateway(table: string): CommandOutput {
  const ex = buildExample();
  const gws: Array<[string, Gateway]> = [
    ['pbm (ZooRoute Fig. 11)', ex.pbm],
    ['hi (ZooRoute Fig. 12)', ex.hi],
  ];
  if (table === 'path') {
    const data = { steps: ex.steps, gateways: gws.map(([n, gw]) => pathView(n, gw)) };
    const text = [
      ...ex.steps.map((s) => `# ${s}`),
      ...data.gateways.flatMap((g) => [
        `${g.name}: Np=${g.np}, ports ${g.base}..${g.base + g.np - 1}`,
        ...g.peers.map((p) => {
          const { choices, peer, scheme, ...rest } = p;
          const state = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
            .join(' ');
          return `  ${String(peer).padEnd(14)} ${String(scheme).padEnd(8)} ${state}\n    port by hash: ${choices.map((c) => c.port ?? '-').join(' ')}`;
        }),
      ]),
    ].join('\n');
    return { data, text };
  }
  if (table === 'resources') {
    const data = gws.map(([name, gw]) => ({ name, ...gw.resources }));
    const text = data
      .flatMap((g) => [
        `${g.name}: ${g.sramBlocks}/${g.sramBlocksAvailable} SRAM blocks, ${g.tcamBlocks}/${g.tcamBlocksAvailable} TCAM blocks, ${g.stagesUsed} stage(s)`,
        ...g.objects.map(
          (u) =>
            `  ${u.name.padEnd(16)} ${u.match.padEnd(36)} size ${String(u.size).padStart(6)}  ${u.bits} bits  ${u.sramBlocks} SRAM  ${u.tcamBlocks} TCAM  stages ${u.stages?.join('-')}${u.attached ? `  (+ ${u.attached.join(', ')})` : ''}`,
        ),
      ])
      .join('\n');
    return { data, text };
  }
  for (const [name, gw] of gws) {
    const o = objectsOf(gw).find((x) => x.name === table);
    if (o instanceof Table) {
      const entries = o.dump();
      const data = { gateway: name, table: o.name, size: o.size, key: o.key, default: o.defaultAction, entries };
      const text = [
        `${name}: table ${o.name} (${o.key.map((k) => `${k.name}:${k.bits} ${k.match}`).join(', ')}), ${entries.length}/${o.size} entries, default ${o.defaultAction.action}`,
        ...entries.map((e) => `  ${JSON.stringify(e.match)}${e.priority !== undefined ? ` prio ${e.priority}` : ''} -> ${e.action}(${Object.values(e.params).join(', ')})`),
      ].join('\n');
      return { data, text };
    }
    if (o instanceof RegisterArray) {
      const cells = Array.from({ length: o.size }, (_, i) => o.read(i));
      const data = { gateway: name, register: o.name, width: o.width, direct: o.direct ?? null, cells };
      return { data, text: `${name}: register ${o.name} (${o.width} bit${o.direct ? `, direct on ${o.direct}` : ''}): ${cells.map((c) => `0x${c.toString(16)}`).join(' ')}` };
    }
  }
  const names = gws.flatMap(([, gw]) => objectsOf(gw).map((o) => o.name));
  throw new UsageError(`invalid --table: ${table} is not path, resources or one of ${[...new Set(names)].join(', ')}`);
}

export function registerGatewayInspect(parent: Command, _ctx: CliContext): void {
  parent
    .command('inspect')
    .description("show a built-in example gateway's tables (ZooRoute Fig. 11 and 12)")
    .option('--table <name>', 'path (default), resources, or a P4 table/register name')
    .option('--json', 'print JSON')
    .action(
      action((raw: Record<string, unknown>): CommandOutput => {
        const o = parseOptions(Options, raw);
        return inspectGateway(o.table);
      }),
    );
}
