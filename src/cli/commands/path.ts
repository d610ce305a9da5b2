/**
 * `pathsteer path set PEER --base P --nports N --healthy HEX [--preferred HEX]
 * [--group HEX ...] [--no-pin]` and `pathsteer path del PEER`: write or remove a
 * peer's entry in the pinned ps_path map of an interface (--iface, default the
 * only attached one).
 *
 * Flags: PS_F_PIN is on unless --no-pin (a flow keeps its port until that port
 * turns unhealthy, which is what tenants want); --preferred sets PS_F_PREFER;
 * --group (repeatable, up to 8 masks) sets PS_F_STATEFUL.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { PathsteerError, UsageError } from '../../common/errors.js';
import { requireCaps } from '../../common/privileges.js';
import { resolveIface, SportMaps } from '../../maps/dataplane.js';
import { flagNames, PS_F_PIN, PS_F_PREFER, PS_F_STATEFUL, PS_MAX_GROUPS, type PathEntry } from '../../maps/path-entry.js';
import { windowMask } from '../../agent/select-port.js';
import { action, jsonReplacer, parseOptions, zcli, type CliContext, type CommandOutput } from '../command.js';

const SetOptions = z.object({
  peer: zcli.ipv4(),
  iface: zcli.ifname().optional(),
  base: zcli.port(),
  nports: zcli.int(1, 64),
  healthy: zcli.hex64(),
  preferred: zcli.hex64().optional(),
  group: z.array(zcli.hex64()).max(PS_MAX_GROUPS, `at most ${PS_MAX_GROUPS} groups`).optional(),
  pin: z.boolean(),
  json: z.boolean().optional(),
});

const DelOptions = z.object({
  peer: zcli.ipv4(),
  iface: zcli.ifname().optional(),
  json: z.boolean().optional(),
});

const hex = (b: bigint): string => `0x${b.toString(16)}`;

function buildEntry(o: z.infer<typeof SetOptions>): PathEntry {
  if (o.base + o.nports - 1 > 65535) throw new UsageError(`--base ${o.base} + --nports ${o.nports} runs past port 65535`);
  const win = windowMask(o.nports);
  const outside = (name: string, v: bigint | undefined): void => {
    if (v !== undefined && (v & ~win) !== 0n) {
      throw new UsageError(`--${name} ${hex(v)} has bits above the ${o.nports}-port window (mask ${hex(win)})`);
    }
  };
  outside('healthy', o.healthy);
  outside('preferred', o.preferred);
  (o.group ?? []).forEach((g) => outside('group', g));
  let flags = o.pin ? PS_F_PIN : 0;
  if (o.preferred !== undefined) flags |= PS_F_PREFER;
  if (o.group?.length) flags |= PS_F_STATEFUL;
  const groupMask = [...(o.group ?? [])];
  while (groupMask.length < PS_MAX_GROUPS) groupMask.push(0n);
  return {
    basePort: o.base,
    nports: o.nports,
    flags,
    ngroups: o.group?.length ?? 0,
    healthy: o.healthy,
    preferred: o.preferred ?? 0n,
    groupMask,
  };
}

export function registerPath(program: Command, _ctx: CliContext): void {
  const path = program.command('path').description("edit a peer's source-port window in the pinned ps_path map");
  path
    .command('set')
    .description('write the entry of a peer VTEP')
    .argument('<peer>', 'peer VTEP IPv4 address (outer destination)')
    .requiredOption('--base <port>', 'first source port of the window')
    .requiredOption('--nports <n>', 'ports in the window, 1..64')
    .requiredOption('--healthy <hex>', 'bitmap of healthy ports (bit i = base + i)')
    .option('--preferred <hex>', 'bitmap of preferred ports (sets PS_F_PREFER)')
    .option('--group <hex>', 'middlebox group mask, repeat per group (sets PS_F_STATEFUL)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--no-pin', 'do not pin flows to their port (PS_F_PIN is on by default)')
    .option('--iface <IF>', 'interface (default: the only attached one)')
    .option('--json', 'print JSON')
    .action(
      action((peer: string, raw: Record<string, unknown>): CommandOutput => {
        const o = parseOptions(SetOptions, { ...raw, peer });
        const entry = buildEntry(o);
        requireCaps(['CAP_BPF'], 'pathsteer path set');
        const ifname = resolveIface(o.iface);
        const maps = SportMaps.open(ifname);
        try {
          maps.path.set(o.peer, entry);
        } finally {
          maps.close();
        }
        const data = { iface: ifname, peer: o.peer, ...entry, flagNames: flagNames(entry.flags) };
        return {
          data: JSON.parse(JSON.stringify(data, jsonReplacer)) as unknown,
          text: `${ifname}: ${o.peer} -> ports ${entry.basePort}..${entry.basePort + entry.nports - 1}, healthy ${hex(entry.healthy)}, flags ${flagNames(entry.flags)}`,
        };
      }),
    );
  path
    .command('del')
    .description('remove the entry of a peer VTEP (its packets keep the kernel-chosen port)')
    .argument('<peer>', 'peer VTEP IPv4 address')
    .option('--iface <IF>', 'interface (default: the only attached one)')
    .option('--json', 'print JSON')
    .action(
      action((peer: string, raw: Record<string, unknown>): CommandOutput => {
        const o = parseOptions(DelOptions, { ...raw, peer });
        requireCaps(['CAP_BPF'], 'pathsteer path del');
        const ifname = resolveIface(o.iface);
        const maps = SportMaps.open(ifname);
        let existed: boolean;
        try {
          existed = maps.path.delete(o.peer);
        } finally {
          maps.close();
        }
        if (!existed) throw new PathsteerError(`no path entry for ${o.peer} on ${ifname}`);
        return { data: { iface: ifname, peer: o.peer, deleted: true }, text: `${ifname}: ${o.peer} removed` };
      }),
    );
}
