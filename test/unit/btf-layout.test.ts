/**
 * C and TypeScript cannot drift apart: every codec's size and field offsets
 * against the BTF of the compiled objects, enum values against their C enums,
 * and every map's key/value size and name against the codecs and the
 * generated name tables. Reads the .bpf.o files only (no privileges).
 */
import { describe, expect, it } from 'vitest';
import { Btf, BtfKind } from '../../src/loader/index.js';
import { MAP_CODECS, STRUCT_CODECS } from '../../src/maps/index.js';
import { BpfObjects, PS_AP_STAT_MAX, PS_STAT_MAX, PsAltpathStat, PsStat } from '../../src/maps/names.generated.js';
import { objectPath, type ObjectKey } from '../../src/maps/objects.js';
import { PathEntryCodec, PS_F_PIN, PS_F_PREFER, PS_F_STATEFUL } from '../../src/maps/path-entry.js';
import { layoutDifferences } from '../support/layout.js';

/** Structs of pathsteer_types.h whose codec lives elsewhere. */
const CODEC_ELSEWHERE: Record<string, string> = {
  ps_probe_hdr: 'the wire header; its codec is in src/protocol (network byte order)',
};

const btfOf = (k: ObjectKey): Btf => Btf.fromObject(objectPath(k));
const anchors = btfOf('alignchecker');

describe('BTF layout of the compiled objects', () => {
  it.each(Object.entries(STRUCT_CODECS))('%s matches its C struct in every object', (tsName, codec) => {
    expect(layoutDifferences(tsName, codec, anchors.struct(codec.cName))).toEqual([]);
    for (const key of Object.keys(BpfObjects) as ObjectKey[]) {
      const s = btfOf(key).struct(codec.cName);
      if (s) expect(layoutDifferences(tsName, codec, s), BpfObjects[key].file).toEqual([]);
    }
  });

  it('reports drift in a form that names both sides', () => {
    const drifted = { ...PathEntryCodec, size: 96, fields: PathEntryCodec.fields.map((f) => (f.name === 'healthy' ? { ...f, offset: 16 } : f)) };
    expect(layoutDifferences('PathEntry', drifted as never, anchors.struct('ps_path_entry'))).toEqual([
      'PathEntry size 96 != ps_path_entry size 88',
      'PathEntry.healthy offset 16 != ps_path_entry.healthy 8',
    ]);
  });

  it('every shared struct has a codec', () => {
    const covered = new Set(Object.values(STRUCT_CODECS).map((c) => c.cName));
    const structs = anchors.names(BtfKind.STRUCT).filter((n) => n.startsWith('ps_'));
    expect(structs.length).toBeGreaterThan(5);
    expect(structs.filter((n) => !covered.has(n) && !CODEC_ELSEWHERE[n])).toEqual([]);
  });

  it('enum ps_stat is mirrored by PsStat, enum ps_altpath_stat by PsAltpathStat, enum ps_path_flags by PS_F_*', () => {
    const stat = anchors.enumValues('ps_stat')!;
    const fromC = Object.fromEntries([...stat].map(([k, v]) => [k.replace(/^PS_STAT_/, ''), Number(v)]));
    expect(fromC).toEqual({ ...PsStat, MAX: PS_STAT_MAX });
    const ap = anchors.enumValues('ps_altpath_stat')!;
    expect(Object.fromEntries([...ap].map(([k, v]) => [k.replace(/^PS_AP_STAT_/, ''), Number(v)]))).toEqual({ ...PsAltpathStat, MAX: PS_AP_STAT_MAX });
    const flags = anchors.enumValues('ps_path_flags')!;
    expect(Object.fromEntries([...flags].map(([k, v]) => [k, Number(v)]))).toEqual({ PS_F_STATEFUL, PS_F_PIN, PS_F_PREFER });
  });

  it('every map of every object has the name in the generated table and the key/value size of its codecs', () => {
    for (const key of Object.keys(BpfObjects) as ObjectKey[]) {
      const btf = btfOf(key);
      const vars = btf.datasec('.maps') ?? [];
      expect(vars.map((v) => v.name), BpfObjects[key].file).toEqual([...BpfObjects[key].maps]);
      for (const v of vars) {
        const codecs = MAP_CODECS[v.name];
        if (!codecs) continue; // test-only maps
        const def = btf.mapDef(v.name)!;
        if (codecs.key) expect(def.keySize, `${v.name} key`).toBe(codecs.key.size);
        if (def.valueSize !== undefined) expect(def.valueSize, `${v.name} value`).toBe(codecs.value.size);
      }
    }
  });
});
