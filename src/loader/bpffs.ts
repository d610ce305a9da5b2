/**
 * The BPF filesystem that pins live on. `ip netns exec` and systemd units with
 * private mounts give a process a fresh /sys without bpffs at /sys/fs/bpf;
 * there pathsteer mounts one (as Cilium and bpftool do), or says why it cannot
 * and how to fix it. A bpffs mounted inside such a private mount namespace is
 * private too: pins there vanish with it, which is why src/maps also finds an
 * interface's maps through its attached programs.
 */
import { statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import koffi from 'koffi';
import { PathsteerError } from '../common/errors.js';
import { logger } from '../common/logger.js';
import { errnoCode } from './errors.js';
import { libbpf } from './libbpf.js';

const log = logger.child({ module: 'loader/bpffs' });

/** BPF_FS_MAGIC (include/uapi/linux/magic.h). */
export const BPF_FS_MAGIC = 0xcafe4a11;
/** Where bpffs is mounted by convention. */
export const BPFFS_MOUNT_POINT = '/sys/fs/bpf';

const FS_NAMES: Record<number, string> = {
  [BPF_FS_MAGIC]: 'bpf',
  0x62656572: 'sysfs',
  0x01021994: 'tmpfs',
  0xef53: 'ext4',
  0x9123683e: 'btrfs',
  0x58465342: 'xfs',
  0x794c7630: 'overlayfs',
};

/** "sysfs", "tmpfs", ... or the magic in hex. */
export function fsTypeName(magic: number): string {
  return FS_NAMES[magic] ?? `0x${magic.toString(16)}`;
}

/** statfs f_type of the filesystem holding `path`, or undefined when it does not exist. */
export function fsMagic(path: string): number | undefined {
  try {
    return Number(statfsSync(path).type) >>> 0;
  } catch {
    return undefined;
  }
}

/** The pin root cannot be used: no bpffs there and none could be mounted. */
export class BpffsError extends PathsteerError {
  override readonly exitCode = 2;
}

export type BpffsState = 'present' | 'mounted';

/** Nearest existing ancestor of `p` (p itself when it exists). */
function existingAncestor(p: string): string {
  let d = resolve(p);
  while (fsMagic(d) === undefined && dirname(d) !== d) d = dirname(d);
  return d;
}

/**
 * Make sure pins can be made under `pinRoot`: its filesystem (or, while it does
 * not exist yet, its nearest existing parent's) must be bpffs. When the pin
 * root lies under /sys/fs/bpf and that is not bpffs, mount one there.
 * Throws BpffsError naming the cause and the fix.
 */
export function ensureBpffs(pinRoot: string, mountPoint = BPFFS_MOUNT_POINT): BpffsState {
  const at = existingAncestor(pinRoot);
  const magic = fsMagic(at);
  if (magic === BPF_FS_MAGIC) return 'present';
  const under = resolve(pinRoot) === mountPoint || resolve(pinRoot).startsWith(`${mountPoint}/`);
  const what = `${at} is ${magic === undefined ? 'missing' : `${fsTypeName(magic)}, not a BPF filesystem`}`;
  if (!under || (at !== mountPoint && !mountPoint.startsWith(`${at}/`))) {
    throw new BpffsError(`cannot pin under ${pinRoot}: ${what}; mount one with: mount -t bpf bpf ${at}`);
  }
  const r = libbpf().mount('bpf', mountPoint, 'bpf', 0, null) as number;
  if (r !== 0) {
    const code = errnoCode(koffi.errno());
    throw new BpffsError(
      `${mountPoint} is ${magic === undefined ? 'missing' : fsTypeName(magic)}, not a BPF filesystem (ip netns exec and private-mount units give a fresh /sys without one), and mounting one failed: ${code}; ` +
        `run \`mount -t bpf bpf ${mountPoint}\` as root in this mount namespace, or enter the network namespace with \`nsenter --net=/run/netns/NAME\` instead of \`ip netns exec\``,
    );
  }
  if (fsMagic(mountPoint) !== BPF_FS_MAGIC) throw new BpffsError(`mounted bpffs at ${mountPoint}, but statfs still reports ${fsTypeName(fsMagic(mountPoint) ?? 0)}`);
  log.info({ mountPoint, was: magic === undefined ? 'missing' : fsTypeName(magic) }, `mounted a BPF filesystem at ${mountPoint} (this mount namespace had none)`);
  return 'mounted';
}
