import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/common/errors.js';
import { parseOptions, zcli } from '../../src/cli/command.js';
import { z } from 'zod';

const CLI = 'dist/src/cli/main.js';

describe('cli', () => {
  it('unknown command exits 2 and says what was wrong', () => {
    const r = spawnSync('node', [CLI, 'no-such-command'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'no-such-command'");
  });

  it('doctor --json prints parseable checks', () => {
    const out = execFileSync('node', [CLI, 'doctor', '--json'], { encoding: 'utf8' });
    const j = JSON.parse(out) as { checks: Array<{ name: string; ok: boolean }> };
    expect(j.checks.map((c) => c.name)).toContain('privileges');
  });

  it('parseOptions names the bad option', () => {
    const schema = z.object({ tunnelPort: zcli.port(), healthy: zcli.hex64() });
    expect(() => parseOptions(schema, { tunnelPort: '70000', healthy: 'ff' })).toThrow(UsageError);
    expect(() => parseOptions(schema, { tunnelPort: '70000', healthy: 'ff' })).toThrow(/--tunnel-port/);
    expect(parseOptions(schema, { tunnelPort: '4789', healthy: '0xff' })).toEqual({ tunnelPort: 4789, healthy: 255n });
  });
});
