/**
 * `pathsteer maps dump path|activity|stats|pin|config [--iface IF] [--json]`:
 * print the pinned maps of an interface (per-CPU maps combined over CPUs).
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { requireCaps } from '../../common/privileges.js';
import { resolveIface, SportMaps } from '../../maps/dataplane.js';
import { flagNames } from '../../maps/path-entry.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../command.js';

const KINDS = ['path', 'activity', 'stats', 'pin', 'config'] as const;

const Options = z.object({
  kind: z.enum(KINDS, { message: `must be one of ${KINDS.join(', ')}` }),
  iface: zcli.ifname().optional(),
  json: z.boolean().optional(),
});

const hex = (b: bigint): string => `0x${b.toString(16)}`;

function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function dump(maps: SportMaps, kind: (typeof KINDS)[number]): CommandOutput {
  switch (kind) {
    case 'path': {
      const rows = maps.path.getAll().map(([peer, [e]]) => ({
        peer,
        basePort: e!.basePort,
        nports: e!.nports,
        flags: flagNames(e!.flags),
        ngroups: e!.ngroups,
        healthy: hex(e!.healthy),
        preferred: hex(e!.preferred),
        groupMask: e!.groupMask.slice(0, e!.ngroups).map(hex),
      }));
      rows.sort((a, b) => a.peer.localeCompare(b.peer));
      const text = table([
        ['PEER', 'PORTS', 'FLAGS', 'HEALTHY', 'PREFERRED', 'GROUPS'],
        ...rows.map((r) => [r.peer, `${r.basePort}+${r.nports}`, r.flags, r.healthy, r.preferred, r.groupMask.join(',') || '-']),
      ]);
      return { data: rows, text: rows.length ? text : '(no entries)' };
    }
    case 'activity': {
      const now = process.hrtime.bigint();
      const rows = maps.activityByPeer().map(([peer, a]) => ({
        peer,
        packets: Number(a.packets),
        bytes: Number(a.bytes),
        lastSeenNs: a.lastSeenNs.toString(),
        idleMs: Number((now - a.lastSeenNs) / 1_000_000n),
        portsInUse: hex(a.portsInUse),
      }));
      rows.sort((a, b) => a.peer.localeCompare(b.peer));
      const text = table([
        ['PEER', 'PACKETS', 'BYTES', 'IDLE_MS', 'PORTS_IN_USE'],
        ...rows.map((r) => [r.peer, String(r.packets), String(r.bytes), String(r.idleMs), r.portsInUse]),
      ]);
      return { data: rows, text: rows.length ? text : '(no entries)' };
    }
    case 'stats': {
      const s = maps.stats();
      const data = Object.fromEntries(Object.entries(s).map(([k, v]) => [k.toLowerCase(), Number(v)]));
      return { data, text: table(Object.entries(data).map(([k, v]) => [k, String(v)])) };
    }
    case 'pin': {
      const rows = maps.pin.getAll().map(([k, [v]]) => ({ peer: k.peer, flowHash: k.flowHash, idx: v!.idx }));
      const text = table([['PEER', 'FLOW_HASH', 'IDX'], ...rows.map((r) => [r.peer, `0x${r.flowHash.toString(16)}`, String(r.idx)])]);
      return { data: rows, text: rows.length ? text : '(no entries)' };
    }
    case 'config': {
      const c = maps.config.get(0)!;
      return { data: c, text: table(Object.entries(c).map(([k, v]) => [k, String(v)])) };
    }
  }
}

export function registerMaps(program: Command, _ctx: CliContext): void {
  const maps = program.command('maps').description('inspect the pinned BPF maps of an interface');
  maps
    .command('dump')
    .description('print a map: path | activity | stats | pin | config')
    .argument('<map>', KINDS.join(' | '))
    .option('--iface <IF>', 'interface (default: the only attached one)')
    .option('--json', 'print JSON')
    .action(
      action((kind: string, raw: Record<string, unknown>): CommandOutput => {
        const o = parseOptions(Options, { ...raw, kind });
        requireCaps(['CAP_BPF'], 'pathsteer maps dump');
        const m = SportMaps.open(resolveIface(o.iface));
        try {
          return dump(m, o.kind);
        } finally {
          m.close();
        }
      }),
    );
}
