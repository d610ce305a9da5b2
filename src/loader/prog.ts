/**
 * Loaded programs by kernel id: what a TC filter runs, and the maps that
 * program uses. This is how an interface's maps are found when its pins are
 * not visible (another mount namespace's bpffs), as `bpftool prog show` does.
 */
import { BpfError, check } from './errors.js';
import { addressOf, closeFd, libbpf } from './libbpf.js';
import { BpfMap } from './map.js';

export interface ProgInfo {
  id: number;
  type: number;
  name: string;
  mapIds: number[];
}

/** struct bpf_prog_info up to and including name[16] (uapi; the kernel accepts a prefix). */
const PROG_INFO_SIZE = 80;
const MAX_MAP_IDS = 64;

/** bpf_prog_info of a program fd: id, type, name and the ids of the maps it uses. */
export function progInfo(fd: number): ProgInfo {
  const ids = Buffer.alloc(4 * MAX_MAP_IDS);
  const info = Buffer.alloc(PROG_INFO_SIZE);
  info.writeUInt32LE(MAX_MAP_IDS, 52); // nr_map_ids: room given
  info.writeBigUInt64LE(addressOf(ids), 56); // map_ids
  const len = new Uint32Array([PROG_INFO_SIZE]);
  check(`bpf_obj_get_info_by_fd prog fd ${fd}`, libbpf().bpf_obj_get_info_by_fd(fd, info, len) as number);
  const n = Math.min(info.readUInt32LE(52), MAX_MAP_IDS);
  const nameEnd = info.indexOf(0, 64);
  return {
    type: info.readUInt32LE(0),
    id: info.readUInt32LE(4),
    name: info.toString('utf8', 64, nameEnd < 0 || nameEnd > 80 ? 80 : nameEnd),
    mapIds: Array.from({ length: n }, (_, i) => ids.readUInt32LE(4 * i)),
  };
}

/** bpf_prog_info of the program with kernel id `id`. */
export function progInfoById(id: number): ProgInfo {
  const fd = check(`bpf_prog_get_fd_by_id ${id}`, libbpf().bpf_prog_get_fd_by_id(id) as number);
  try {
    return progInfo(fd);
  } finally {
    closeFd(fd);
  }
}

/**
 * The maps programs `progIds` use (together), opened by id and keyed by map
 * name, for the names asked for (others are not opened). Throws BpfError when
 * one is missing from all of them.
 */
export function mapsOfProgram(progIds: number | readonly number[], names: readonly string[]): Map<string, BpfMap> {
  const ids = typeof progIds === 'number' ? [progIds] : progIds;
  const out = new Map<string, BpfMap>();
  const programs: string[] = [];
  const seen = new Set<number>();
  try {
    for (const progId of ids) {
      const info = progInfoById(progId);
      programs.push(`${info.name} (id ${progId})`);
      for (const id of info.mapIds) {
        if (seen.has(id)) continue;
        seen.add(id);
        const m = BpfMap.fromId(id);
        if (names.includes(m.name) && !out.has(m.name)) out.set(m.name, m);
        else m.close();
      }
    }
    const missing = names.filter((n) => !out.has(n));
    if (missing.length > 0) throw new BpfError(`program${programs.length > 1 ? 's' : ''} ${programs.join(', ')} do${programs.length > 1 ? '' : 'es'} not use ${missing.join(', ')}`, 2);
    return out;
  } catch (e) {
    for (const m of out.values()) m.close();
    throw e;
  }
}
