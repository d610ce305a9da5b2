/**
 * src/loader against the real kernel: libbpf phases, globals set before load,
 * map operations (single, iteration, batch, per-CPU), pins (reuse and
 * mismatch), test runs, ring buffer through a koffi callback, and the one
 * error type at the boundary.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfError, BpfMap, BpfObject, MapType, PinMismatchError, possibleCpus, RingBuffer, testRun, UpdateFlag } from '../../src/loader/index.js';
import { BpfObjects, MapName } from '../../src/maps/names.generated.js';
import { objectPath } from '../../src/maps/objects.js';
import { runPrefix } from '../../src/testbed/netns.js';
import { canLoadBpf } from '../support/privileged.js';

const PIN_TEST_ROOT = `/sys/fs/bpf/pathsteer-test-${runPrefix('dp')}`;
const [RB_PROG] = BpfObjects.ringbufTest.programs;
const [RB_MAP] = BpfObjects.ringbufTest.maps;

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

describe.runIf(canLoadBpf)('loader (libbpf through koffi)', () => {
  afterAll(() => rmSync(PIN_TEST_ROOT, { recursive: true, force: true }));

  it('follows open -> configure -> load -> close, and close is safe twice', () => {
    const o = BpfObject.open(objectPath('vxlanSport'));
    expect(o.state).toBe('opened');
    expect(o.programNames()).toEqual([...BpfObjects.vxlanSport.programs]);
    expect(o.mapDefs().map((m) => m.name)).toEqual(expect.arrayContaining([...BpfObjects.vxlanSport.maps]));
    expect(() => o.map(MapName.path)).toThrow(BpfError); // not loaded yet
    o.setMaxEntries(MapName.path, 1024).setAutoload(BpfObjects.vxlanSport.programs[1], false).load();
    expect(o.state).toBe('loaded');
    expect(o.map(MapName.path).maxEntries).toBe(1024);
    expect(() => o.setMaxEntries(MapName.path, 8)).toThrow(/object is loaded/);
    o.close();
    o.close();
    expect(o.state).toBe('closed');
    expect(() => o.programNames()).toThrow(BpfError);
  });

  it('sets a const volatile before load; ring buffer records reach a koffi callback', () => {
    const o = BpfObject.open(objectPath('ringbufTest'));
    try {
      o.setGlobal('rb_tag', 0xc0ffee);
      o.load();
      const records: Buffer[] = [];
      const rb = new RingBuffer(o.map(RB_MAP), (r) => {
        records.push(r);
      });
      try {
        const pkt = Buffer.from('0123456789abcdef-pathsteer');
        testRun(o.program(RB_PROG).fd, { data: pkt, repeat: 5 });
        expect(rb.consume()).toBe(5);
        expect(records).toHaveLength(5);
        for (const [i, r] of records.entries()) {
          expect(r.readUInt32LE(0)).toBe(0xc0ffee);
          expect(r.readUInt32LE(4)).toBe(pkt.length);
          expect(r.readBigUInt64LE(8)).toBe(BigInt(i));
          expect(r.subarray(16, 32).toString()).toBe('0123456789abcdef');
        }
        // poll returns promptly when records are waiting; a handler can stop early
        testRun(o.program(RB_PROG).fd, { data: pkt, repeat: 3 });
        let seen = 0;
        rb.close();
        const rb2 = new RingBuffer(o.map(RB_MAP), () => {
          seen++;
          return seen > 1; // stop after the first record
        });
        expect(rb2.poll(1000)).toBe(0);
        expect(seen).toBe(1);
        expect(rb2.consume()).toBe(2);
        expect(seen).toBe(3);
        // an exception in the handler surfaces from consume()
        testRun(o.program(RB_PROG).fd, { data: pkt });
        const rb3 = new RingBuffer(o.map(RB_MAP), () => {
          throw new Error('handler failed');
        });
        rb2.close();
        expect(() => rb3.consume()).toThrow('handler failed');
        rb3.close();
        rb3.close();
      } finally {
        rb.close();
      }
      expect(() => o.setGlobal('rb_tag', 1)).toThrow(/object is loaded/);
    } finally {
      o.close();
    }
  });

  it('an unknown global is a BpfError', () => {
    const o = BpfObject.open(objectPath('ringbufTest'));
    try {
      expect(() => o.setGlobal('no_such_global', 1)).toThrow(BpfError);
    } finally {
      o.close();
    }
  });

  it('map lookup/update/delete/iterate; a missing key is undefined; errors are BpfError {op, errno, code}', () => {
    const m = BpfMap.create({ type: MapType.HASH, name: 'dp_hash', keySize: 4, valueSize: 8, maxEntries: 4 });
    try {
      expect(m.lookup(u32(1))).toBeUndefined();
      expect(m.delete(u32(1))).toBe(false);
      m.update(u32(1), Buffer.alloc(8, 1));
      m.update(u32(2), Buffer.alloc(8, 2));
      expect(m.lookup(u32(2))).toEqual(Buffer.alloc(8, 2));
      expect([...m.keys()].map((k) => k.readUInt32LE(0)).sort()).toEqual([1, 2]);
      expect([...m.entries()]).toHaveLength(2);
      let err: unknown;
      try {
        m.update(u32(1), Buffer.alloc(8), UpdateFlag.NOEXIST);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BpfError);
      expect(err).toMatchObject({ errno: 17, code: 'EEXIST', op: 'bpf_map_update_elem dp_hash', message: 'bpf_map_update_elem dp_hash: EEXIST' });
      m.update(u32(3), Buffer.alloc(8));
      m.update(u32(4), Buffer.alloc(8));
      expect(() => m.update(u32(5), Buffer.alloc(8))).toThrow('bpf_map_update_elem dp_hash: E2BIG');
      expect(() => m.update(u32(1), Buffer.alloc(7))).toThrow(RangeError);
      expect(m.delete(u32(1))).toBe(true);
    } finally {
      m.close();
      m.close();
    }
    expect(() => m.lookup(u32(1))).toThrow(/closed/);
  });

  it('batch update, lookup and delete of 10,000 entries', () => {
    const n = 10_000;
    const m = BpfMap.create({ type: MapType.HASH, name: 'dp_batch', keySize: 4, valueSize: 88, maxEntries: 16384 });
    try {
      const keys = Buffer.alloc(4 * n);
      const values = Buffer.alloc(88 * n);
      for (let i = 0; i < n; i++) {
        keys.writeUInt32LE(i * 7 + 1, 4 * i);
        values.writeUInt32LE(i, 88 * i);
        values.writeUInt32LE(i ^ 0xabcdef, 88 * i + 84);
      }
      expect(m.updateBatch(keys, values)).toBe(n);
      expect(m.lookup(u32(7 * 123 + 1))!.readUInt32LE(0)).toBe(123);
      const all = m.lookupBatch(1000);
      expect(all.count).toBe(n);
      const seen = new Map<number, number>();
      for (let i = 0; i < all.count; i++) seen.set(all.keys.readUInt32LE(4 * i), all.values.readUInt32LE(88 * i + 84));
      for (let i = 0; i < n; i++) expect(seen.get(i * 7 + 1)).toBe(i ^ 0xabcdef);
      expect(m.deleteBatch(keys.subarray(0, 4 * 6000))).toBe(6000);
      expect(m.lookupBatch().count).toBe(n - 6000);
      expect(() => m.deleteBatch(keys.subarray(0, 4))).toThrow(/bpf_map_delete_batch dp_batch \(0 of 1 deleted\): ENOENT/);
    } finally {
      m.close();
    }
  });

  it('per-CPU maps hold one value per possible CPU', () => {
    const m = BpfMap.create({ type: MapType.PERCPU_HASH, name: 'dp_percpu', keySize: 4, valueSize: 12, maxEntries: 8 });
    try {
      const cpus = possibleCpus();
      expect(m.cpus).toBe(cpus);
      expect(m.valueBytes).toBe(16 * cpus);
      const v = Buffer.alloc(m.valueBytes);
      for (let c = 0; c < cpus; c++) v.writeUInt32LE(100 + c, 16 * c);
      m.update(u32(9), v);
      expect(m.perCpu(m.lookup(u32(9))!).map((b) => b.readUInt32LE(0))).toEqual(Array.from({ length: cpus }, (_, c) => 100 + c));
      const batch = m.lookupBatch();
      expect(batch.count).toBe(1);
      expect(batch.values.length).toBe(m.valueBytes);
    } finally {
      m.close();
    }
  });

  it('re-adopts compatible pins with their contents', () => {
    const dir = `${PIN_TEST_ROOT}/reuse`;
    const a = BpfObject.open(objectPath('vxlanSport'));
    const plansA = a.pinMaps(dir, BpfObjects.vxlanSport.maps);
    expect(plansA.every((p) => !p.reused)).toBe(true);
    a.load();
    a.map(MapName.path).update(Buffer.from([198, 18, 0, 2]), Buffer.alloc(88, 5));
    a.close();
    // the pins outlive the object
    expect(existsSync(`${dir}/${MapName.path}`)).toBe(true);
    const b = BpfObject.open(objectPath('vxlanSport'));
    try {
      const plansB = b.pinMaps(dir, BpfObjects.vxlanSport.maps);
      expect(plansB.every((p) => p.reused)).toBe(true);
      b.load();
      expect(b.map(MapName.path).lookup(Buffer.from([198, 18, 0, 2]))).toEqual(Buffer.alloc(88, 5));
    } finally {
      b.close();
    }
  });

  it('refuses an incompatible pin, listing every difference, before creating anything', () => {
    const dir = `${PIN_TEST_ROOT}/mismatch`;
    mkdirSync(dir, { recursive: true });
    const wrong = BpfMap.create({ type: MapType.LRU_HASH, name: MapName.path, keySize: 4, valueSize: 80, maxEntries: 1024 });
    wrong.pin(`${dir}/${MapName.path}`);
    wrong.close();
    const o = BpfObject.open(objectPath('vxlanSport'));
    try {
      let err: unknown;
      try {
        o.pinMaps(dir, BpfObjects.vxlanSport.maps);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PinMismatchError);
      const msg = (err as Error).message;
      expect(msg).toContain('ps_path type LRU_HASH != HASH');
      expect(msg).toContain('ps_path value_size 80 != 88');
      expect(msg).toContain('ps_path max_entries 1024 != 65536');
      expect((err as PinMismatchError).differences).toHaveLength(3);
      // nothing else was pinned
      expect(existsSync(`${dir}/${MapName.config}`)).toBe(false);
    } finally {
      o.close();
    }
  });

  it('a failed load says why (BpfError with the libbpf log)', () => {
    const o = BpfObject.open(objectPath('vxlanSport'));
    try {
      // a map too large to allocate makes the kernel refuse the object
      o.setMaxEntries(MapName.pin, 0);
      let err: unknown;
      try {
        o.load();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BpfError);
      expect((err as BpfError).op).toBe('bpf_object__load vxlan_sport.bpf.o');
      expect((err as BpfError).log.join('\n')).toContain(MapName.pin);
    } finally {
      o.close();
    }
  });
});
