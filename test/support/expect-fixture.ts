/**
 * Assertions the BPF_PROG_TEST_RUN suites share: the UDP checksum a packet
 * fixture expects of the program's output, and the ps_stats counters.
 */
import { expect } from 'vitest';
import { PsStat, type PsStatName } from '../../src/maps/names.generated.js';
import type { StatCounts } from '../../src/maps/stats.js';
import { parseUdp4, udpChecksumOk } from './packets.js';

/**
 * The output's UDP checksum is what the fixture says: 'zero' none, 'valid' a
 * correct non-zero one, 'kept' the input's field as it was. Other kinds (a
 * suite's own) are left to the caller.
 */
export function expectChecksum(kind: string, output: Buffer, input: Buffer): void {
  const check = parseUdp4(output).check;
  if (kind === 'zero') expect(check).toBe(0);
  if (kind === 'valid') {
    expect(check).not.toBe(0);
    expect(udpChecksumOk(output)).toBe(true);
  }
  if (kind === 'kept') expect(check).toBe(parseUdp4(input).check);
}

/**
 * Every ps_stats counter is what `want` says (absent: 0), checked softly so
 * one failure lists every counter that differs; `ignore`d ones are not checked.
 */
export function expectStats(got: StatCounts, want: Partial<Record<PsStatName, number>>, ignore: readonly PsStatName[] = []): void {
  for (const name of Object.keys(PsStat) as PsStatName[]) {
    if (!ignore.includes(name)) expect.soft(Number(got[name]), `ps_stats ${name}`).toBe(want[name] ?? 0);
  }
}
