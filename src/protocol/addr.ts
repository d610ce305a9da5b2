/**
 * The protocol carries IPv4 addresses as u32 (network order on the wire, the
 * numeric value `a<<24 | b<<16 | c<<8 | d` in memory) and backend ids as 48-bit
 * numbers. These convert to and from their usual text forms.
 */
import { formatIpv4, ipv4Value } from '../common/net.js';
import { InvalidFieldError } from './errors.js';

/** Dotted quad -> u32 (common/net's parser; the codecs' error type). */
export function ipv4ToU32(s: string): number {
  const v = ipv4Value(s);
  if (v < 0) throw new InvalidFieldError('ipv4', `${String(s)} is not a dotted IPv4 address`);
  return v;
}

export function u32ToIpv4(v: number): string {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new InvalidFieldError('ipv4', `${v} is not a u32`);
  return formatIpv4(v);
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
