import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/common/errors.js';
import { parseOptions, zcli } from '../../src/cli/command.js';
import { z } from 'zod';
import { runCli, runCliJson } from '../support/cli.js';

describe('cli', () => {
  it('unknown command exits 2 and says what was wrong', () => {
    const r = runCli(['no-such-command']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'no-such-command'");
  });

  it('doctor --json prints parseable checks', () => {
    const j = runCliJson(['doctor', '--json']) as { checks: Array<{ name: string; ok: boolean }> };
    expect(j.checks.map((c) => c.name)).toContain('privileges');
  });

  it('parseOptions names the bad option', () => {
    const schema = z.object({ tunnelPort: zcli.port(), healthy: zcli.hex64() });
    expect(() => parseOptions(schema, { tunnelPort: '70000', healthy: 'ff' })).toThrow(UsageError);
    expect(() => parseOptions(schema, { tunnelPort: '70000', healthy: 'ff' })).toThrow(/--tunnel-port/);
    expect(parseOptions(schema, { tunnelPort: '4789', healthy: '0xff' })).toEqual({ tunnelPort: 4789, healthy: 255n });
  });
});
