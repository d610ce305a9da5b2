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
 * Compare the inode of /proc/self/ns/net with PID 1's (the initial namespace)
 * and with every /run/netns/* bind mount.
 */
export function currentNetns(netnsDir = '/run/netns'): NetnsIdentity {
  const self = nsId('/proc/self/ns/net');
  if (!self) return { kind: 'init' };
  if (nsId('/proc/1/ns/net') === self) return { kind: 'init' };
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
