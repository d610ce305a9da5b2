/** host:port parsing and formatting for listeners (IPv6 hosts in brackets), through src/common/net.ts. */
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { UsageError } from '../../common/errors.js';
import { ipv4Value, parseIpv6 } from '../../common/net.js';

export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]]+):(\d{1,5})$/.exec(s);
  if (!m) throw new UsageError(`"${s}" is not host:port (IPv6 in brackets: [::1]:11019)`);
  const host = m[1]!;
  const port = Number(m[2]);
  if (port > 65535) throw new UsageError(`"${s}": port ${port} is above 65535`);
  if (ipv4Value(host) < 0) {
    try {
      parseIpv6(host);
    } catch {
      throw new UsageError(`"${s}": ${host} is not an IP address`);
    }
  }
  return { host, port };
}

/** zod: a host:port string parseHostPort accepts. */
export const zHostPort = (): z.ZodString =>
  z.string().superRefine((s, ctx) => {
    try {
      parseHostPort(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e) });
    }
  }) as unknown as z.ZodString;

/** "host:port" ("[v6]:port") of a bound address; null when there is none. */
export function formatAddress(a: AddressInfo | undefined): string | null {
  if (!a) return null;
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
