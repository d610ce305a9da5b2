/**
 * argv that runs a program with no capabilities at all: uid 0 kept (so it can
 * read a checkout in a 0700 directory, as CI's fresh clone may be), bounding
 * and inheritable sets emptied, so exec grants nothing. What a user without
 * root or BPF rights gets.
 */
export function withoutCapabilities(argv: readonly string[]): string[] {
  return ['setpriv', '--bounding-set=-all', '--inh-caps=-all', '--no-new-privs', ...argv];
}
