/** Compare a codec's layout with a struct from BTF (Cilium alignchecker style). */
import type { BtfStruct } from '../../src/loader/index.js';
import type { Codec } from '../../src/maps/codec.js';

/** Every difference, e.g. `PathEntry.healthy offset 8 != ps_path_entry.healthy 16`. */
export function layoutDifferences(tsName: string, codec: Codec<never>, s: BtfStruct | undefined): string[] {
  if (!s) return [`${tsName}: struct ${codec.cName} is not in the BTF`];
  const d: string[] = [];
  if (codec.size !== s.size) d.push(`${tsName} size ${codec.size} != ${s.name} size ${s.size}`);
  for (const f of codec.fields) {
    const m = s.members.find((x) => x.name === f.c);
    if (!m) {
      d.push(`${tsName}.${f.name}: ${s.name} has no member ${f.c}`);
      continue;
    }
    if (m.offset !== f.offset) d.push(`${tsName}.${f.name} offset ${f.offset} != ${s.name}.${m.name} ${m.offset}`);
    if (m.size !== f.size) d.push(`${tsName}.${f.name} size ${f.size} != ${s.name}.${m.name} ${m.size}`);
  }
  for (const m of s.members) {
    if (!codec.fields.some((f) => f.c === m.name)) d.push(`${s.name}.${m.name} has no field in ${tsName}`);
  }
  return d;
}
