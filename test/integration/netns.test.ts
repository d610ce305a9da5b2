import { afterAll, describe, expect, it } from 'vitest';
import { addNetns, addVeth, cleanupPrefix, listNetns, nsName, nsRun, runPrefix } from '../../src/testbed/netns.js';
import { canUseNetns } from '../support/privileged.js';

describe.runIf(canUseNetns)('netns primitives', () => {
  const prefix = runPrefix('t');
  afterAll(async () => {
    await cleanupPrefix(prefix);
  });

  it('two namespaces joined by veth can ping, and cleanup removes both', async () => {
    const a = nsName(prefix, 'a');
    const b = nsName(prefix, 'b');
    await addNetns(a);
    await addNetns(b);
    await addVeth({ ns: a, ifname: 'va' }, { ns: b, ifname: 'vb' });
    await nsRun(a, ['ip', 'addr', 'add', '198.18.0.1/30', 'dev', 'va']);
    await nsRun(b, ['ip', 'addr', 'add', '198.18.0.2/30', 'dev', 'vb']);
    const r = await nsRun(a, ['ping', '-c', '1', '-W', '2', '198.18.0.2']);
    expect(r.stdout).toContain('1 received');
    expect(await cleanupPrefix(prefix)).toEqual(expect.arrayContaining([a, b]));
    expect((await listNetns()).filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
  });
});
