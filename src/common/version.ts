/** pathsteer's version, read once from package.json (works from src/ and dist/src/). */
import { existsSync, readFileSync } from 'node:fs';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached) return cached;
  for (const rel of ['../../package.json', '../../../package.json']) {
    const u = new URL(rel, import.meta.url);
    if (!existsSync(u)) continue;
    try {
      const p = JSON.parse(readFileSync(u, 'utf8')) as { name?: string; version?: string };
      if (p.name === 'pathsteer' && p.version) return (cached = p.version);
    } catch {
      // not ours; keep looking
    }
  }
  return (cached = '0.0.0-unknown');
}
