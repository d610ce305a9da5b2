/**
 * Bad arguments to attach/detach/path/maps/bench exit 2 and say what was
 * wrong, before anything touches the system (so this needs no privileges).
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const cli = (...args: string[]): { status: number | null; stderr: string } => runCli(args);
const set = (...args: string[]): string[] => ['path', 'set', '198.18.0.2', '--base', '40000', '--nports', '8', '--healthy', 'ff', ...args];

describe('pathsteer attach/detach/path/maps/bench: bad arguments', () => {
  it.each([
    [['attach'], "required option '--iface <IF>' not specified"],
    [['attach', '--iface', 'eth0', '--tunnel-port', '70000'], '--tunnel-port'],
    [['attach', '--iface', 'this-name-is-too-long'], '--iface: not a valid interface name'],
    [['attach', '--iface', 'eth0', '--variant', 'fast'], '--variant'],
    [['attach', '--iface', 'eth0', '--agent-port', '0'], '--agent-port'],
    [['attach', '--iface', 'eth0', '--agent-port', 'x'], '--agent-port'],
    [['detach', '--iface', 'a/b'], '--iface: not a valid interface name'],
    [['path', 'set', '198.18.0', '--base', '1', '--nports', '8', '--healthy', 'ff'], 'peer: not an IPv4 address'],
    [set('--nports', '65'), '--nports'],
    [['path', 'set', '198.18.0.2', '--base', '40000', '--nports', '8', '--healthy', 'xyz'], '--healthy: not a hexadecimal bitmap'],
    [['path', 'set', '198.18.0.2', '--base', '40000', '--nports', '8', '--healthy', '1ff'], '--healthy 0x1ff has bits above the 8-port window (mask 0xff)'],
    [set('--preferred', '0x100'), '--preferred 0x100 has bits above the 8-port window'],
    [['path', 'set', '198.18.0.2', '--base', '65530', '--nports', '8', '--healthy', 'ff'], '--base 65530 + --nports 8 runs past port 65535'],
    [set('--group', 'f', '--group', 'f', '--group', 'f', '--group', 'f', '--group', 'f', '--group', 'f', '--group', 'f', '--group', 'f', '--group', 'f'), '--group: at most 8 groups'],
    [['path', 'set', '198.18.0.2', '--nports', '8', '--healthy', 'ff'], "required option '--base <port>' not specified"],
    [['path', 'del', 'not-an-ip'], 'peer: not an IPv4 address'],
    [['maps', 'dump', 'routes'], '--kind: must be one of path, activity, stats, pin, config'],
    [['bench', 'dataplane', '--repeat', '0'], '--repeat'],
    [['bench', 'maps', '--peers', '200000'], '--peers'],
  ])('%j exits 2: %s', (args, message) => {
    const r = cli(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
