import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AgentConfigSchema } from '../../src/agent/options.js';
import { agentConfig } from '../../src/cli/commands/agent.js';
import { UsageError } from '../../src/common/errors.js';
import { CLI, runCli } from '../support/cli.js';
import { withoutCapabilities } from '../support/unprivileged.js';

describe('agent configuration', () => {
  it('the shipped example config is valid and sets every option', () => {
    const cfg = agentConfig({ config: 'contrib/systemd/agent-eth0.example.json' });
    expect(cfg.iface).toBe('eth0');
    expect(Object.keys(cfg).sort()).toEqual(Object.keys(AgentConfigSchema.shape).sort());
  });

  it('flags override the file; an explicit --no-cpu-backoff wins, the default does not', () => {
    const cfg = agentConfig({ config: 'contrib/systemd/agent-eth0.example.json', probeInterval: '100', cpuBackoff: true });
    expect(cfg.probeIntervalMs).toBe(100);
    expect(cfg.cpuBackoff).toBe(true);
    expect(agentConfig({ iface: 'eth0', cpuBackoff: false }).cpuBackoff).toBe(false);
  });

  it('names the bad flag or key', () => {
    expect(() => agentConfig({ iface: 'eth0', peer: ['198.18.0.300'] })).toThrow(/--peer \(peers\)\[0\]: not an IPv4 address/);
    expect(() => agentConfig({ iface: 'eth0', probeInterval: '5' })).toThrow(UsageError);
    expect(() => agentConfig({ config: '/nonexistent.json' })).toThrow(/cannot read config file/);
  });

  it('the systemd unit runs flags the CLI knows', () => {
    const unit = readFileSync('contrib/systemd/pathsteer-agent@.service', 'utf8');
    const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!;
    expect(exec).toContain('pathsteer agent --iface %i --config /etc/pathsteer/agent-%i.json');
    const help = runCli(['agent', '--help']).stdout;
    for (const flag of exec.match(/--[a-z-]+/g)!) expect(help).toContain(flag);
  });

  it('agent without privileges exits 2 naming the capability', () => {
    const [cmd, ...args] = withoutCapabilities(['node', CLI, 'agent', '--iface', 'lo']);
    const r = spawnSync(cmd!, args, { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/CAP_BPF/);
  });
});
