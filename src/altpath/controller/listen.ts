/** host:port parsing for listeners (IPv6 hosts in brackets), through src/common/net.ts. */
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
