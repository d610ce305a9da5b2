/**
 * Which network namespace this process runs in: the initial one, a named one
 * (`ip netns add NAME` bind-mounts it at /run/netns/NAME), or an unnamed one.
 * Per-interface state (pins, attach records) must be scoped by it, because
 * interfaces in different namespaces may share a name.
 */
import { readdirSync, statSync } from 'node:fs';

export type NetnsIdentity = { kind: 'init' } | { kind: 'named'; name: string } | { kind: 'anonymous'; inode: number };

function nsId(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * The inode the kernel gives the initial network namespace (PROC_NET_INIT_INO,
 * include/linux/proc_ns.h); recognises it where PID 1's namespace cannot be
 * read (containers and sandboxes that hide /proc/1/ns).
 */
export const PROC_NET_INIT_INO = 0xeffffff9;

/**
 * Compare the inode of /proc/self/ns/net with the initial namespace's (its
 * fixed inode, or PID 1's) and with every /run/netns/* bind mount.
 */
export function currentNetns(netnsDir = '/run/netns'): NetnsIdentity {
  const self = nsId('/proc/self/ns/net');
  if (!self) return { kind: 'init' };
  if (nsId('/proc/1/ns/net') === self || Number(self.split(':')[1]) === PROC_NET_INIT_INO) return { kind: 'init' };
  let names: string[] = [];
  try {
    names = readdirSync(netnsDir).sort();
  } catch {
    names = [];
  }
  for (const n of names) {
    if (nsId(`${netnsDir}/${n}`) === self) return { kind: 'named', name: n };
  }
  return { kind: 'anonymous', inode: Number(self.split(':')[1]) };
}

/** Path segment for per-namespace state: '' (initial), `ns/NAME` or `ns/ino-INODE`. */
export function netnsScope(id: NetnsIdentity = currentNetns()): string {
  switch (id.kind) {
    case 'init':
      return '';
    case 'named':
      return `ns/${id.name}`;
    case 'anonymous':
      return `ns/ino-${id.inode}`;
  }
}
