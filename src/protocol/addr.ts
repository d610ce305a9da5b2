/**
 * The protocol carries IPv4 addresses as u32 (network order on the wire, the
 * numeric value `a<<24 | b<<16 | c<<8 | d` in memory) and backend ids as 48-bit
 * numbers. These convert to and from their usual text forms.
 */
import { InvalidFieldError } from './errors.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function ipv4ToU32(s: string): number {
  const m = typeof s === 'string' ? IPV4.exec(s) : null;
  if (!m) throw new InvalidFieldError('ipv4', `${String(s)} is not a dotted IPv4 address`);
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

export function u32ToIpv4(v: number): string {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new InvalidFieldError('ipv4', `${v} is not a u32`);
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export function macToBackendId(mac: string): number {
  if (typeof mac !== 'string' || !MAC.test(mac)) throw new InvalidFieldError('backendId', `${String(mac)} is not a MAC address`);
  return parseInt(mac.replaceAll(':', ''), 16);
}

export function backendIdToMac(id: number): string {
  if (!Number.isInteger(id) || id < 0 || id > 2 ** 48 - 1) throw new InvalidFieldError('backendId', `${id} is not a 48-bit id`);
  return id
    .toString(16)
    .padStart(12, '0')
    .replace(/(..)(?!$)/g, '$1:');
}
