import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSpec } from '../../src/testbed/spec.js';
import { planTopology } from '../../src/testbed/topology.js';
import { asnOf, frrConfig, generateVagrant, writeVagrantFiles, type VagrantTopology } from '../../src/testbed/vagrant.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/**
 * Evaluates vagrant/Vagrantfile with a stand-in `Vagrant` module that records
 * every configuration call, so the test sees what each machine would get.
 */
const RUBY_HARNESS = `
require 'json'
$log = []
class Rec
  def initialize(path) = @path = path
  def method_missing(name, *args, **kw, &blk)
    n = name.to_s
    if n.end_with?('=')
      $log << { 'path' => @path, 'set' => n.chomp('='), 'value' => args[0] }
      return args[0]
    end
    $log << { 'path' => @path, 'call' => n, 'args' => args.map(&:to_s), 'kw' => kw.transform_keys(&:to_s) }
    if blk
      scope = @path + [n, args[0].to_s]
      blk.arity == 2 ? blk.call(Rec.new(scope), Rec.new(scope + ['override'])) : blk.call(Rec.new(scope))
    end
    Rec.new(@path + [n])
  end
  def respond_to_missing?(*) = true
end
module Vagrant
  def self.configure(_version, &blk) = blk.call(Rec.new([]))
end
load ARGV[0]
puts JSON.generate($log)
`;

interface LogEntry {
  path: string[];
  set?: string;
  value?: unknown;
  call?: string;
  args?: string[];
  kw?: Record<string, unknown>;
}

describe('vagrant generation', () => {
  const spec = loadSpec('examples/testbed/clos-2x2.json');
  const gen = generateVagrant(spec);
  const dir = mkdtempSync(join(tmpdir(), 'ps-vagrant-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('generates one machine per router, host and gateway with the plan addresses', () => {
    expect(gen.topology.machines.map((m) => `${m.name}:${m.role}`)).toEqual(['spine1:spine', 'spine2:spine', 'leaf1:leaf', 'leaf2:leaf', 'host1:host', 'host2:host']);
    const host1 = gen.topology.machines.find((m) => m.name === 'host1')!;
    expect(host1.nics).toEqual([expect.objectContaining({ ifname: 'uplink0', ip: '198.18.1.1', prefix_len: 31, mtu: 1600 })]);
    expect(host1.sync_repo).toBe(true);
    const macs = gen.topology.machines.flatMap((m) => m.nics.map((n) => n.mac));
    expect(new Set(macs).size).toBe(macs.length);
  });

  it('pairs both ends of every link: same internal network, mirrored UDP tunnel ports', () => {
    const byLink = new Map<string, Array<VagrantTopology['machines'][number]['nics'][number]>>();
    for (const m of gen.topology.machines) for (const n of m.nics) byLink.set(n.link, [...(byLink.get(n.link) ?? []), n]);
    expect(byLink.size).toBe(6);
    for (const [, ends] of byLink) {
      expect(ends).toHaveLength(2);
      expect(ends[0]!.intnet).toBe(ends[1]!.intnet);
      expect(ends[0]!.udp.local_port).toBe(ends[1]!.udp.remote_port);
      expect(ends[1]!.udp.local_port).toBe(ends[0]!.udp.remote_port);
    }
  });

  it('FRR: eBGP to every spine, ECMP, the leaf subnet and loopback announced', () => {
    const plan = planTopology(spec, 'ps');
    const leaf1 = plan.routers.find((r) => r.name === 'leaf1')!;
    const conf = frrConfig(plan, leaf1);
    expect(asnOf(plan, 'spine1')).toBe(65000);
    expect(asnOf(plan, 'spine2')).toBe(65000);
    expect(asnOf(plan, 'leaf1')).toBe(65101);
    expect(conf).toContain('router bgp 65101');
    expect(conf).toContain(' neighbor 198.19.1.2 remote-as 65000');
    expect(conf).toContain(' neighbor 198.19.2.2 remote-as 65000');
    expect(conf).toContain('  maximum-paths 64');
    expect(conf).toContain(' bgp bestpath as-path multipath-relax');
    expect(conf).toContain('  network 198.18.1.0/24');
    expect(conf).toContain('ip route 198.18.1.0/24 Null0');
    const spine1 = frrConfig(plan, plan.routers.find((r) => r.name === 'spine1')!);
    expect(spine1.match(/remote-as 6510[12]/g)).toHaveLength(2);
    // Every FRR config line is one of the statements FRR 8 accepts in this context.
    for (const line of conf.split('\n').filter(Boolean)) {
      expect(line).toMatch(/^(!.*|frr (version|defaults) .+|hostname \S+|log syslog \w+|service integrated-vtysh-config|ip route \S+ \S+|interface lo| ip address \S+|router bgp \d+| bgp (router-id|bestpath) .+| no bgp ebgp-requires-policy| neighbor \S+ (remote-as \d+|description \S+)| !| address-family ipv4 unicast|  network \S+|  redistribute static|  maximum-paths \d+| exit-address-family|exit)$/);
    }
  });

  it('WAN links get netem with the spec delay and rate on both ends; gateways announce their prefix', () => {
    const g2 = generateVagrant(loadSpec('examples/testbed/two-region.json'));
    expect(g2.files.get('provision/spine1.sh')).toContain('tc qdisc replace dev wspine1 root netem delay 10ms rate 100mbit');
    expect(g2.files.get('provision/wspine1.sh')).toContain('tc qdisc replace dev spine2 root netem delay 10ms rate 100mbit');
    expect(g2.files.get('provision/leaf1.sh')).not.toContain('netem');
    expect(g2.files.get('frr/leaf2.conf')).toContain('ip route 203.0.113.0/24 198.18.2.3');
    expect(g2.files.get('frr/wspine1.conf')).toContain(' neighbor 198.19.255.0 remote-as 65000');
    expect(g2.files.get('provision/gw1.sh')).toContain('ip addr replace 203.0.113.1/24 dev lo');
  });

  it('router provisioning turns on L4 ECMP hashing; scripts are valid bash', () => {
    const leaf = gen.files.get('provision/leaf1.sh')!;
    expect(leaf).toContain('net.ipv4.fib_multipath_hash_policy=1');
    expect(leaf).toContain('net.ipv4.conf.all.rp_filter=0');
    expect(leaf).toContain("sed -i 's/^bgpd=no/bgpd=yes/' /etc/frr/daemons");
    const host = gen.files.get('provision/host1.sh')!;
    expect(host).toContain('type vxlan id 100 local 198.18.1.1 dstport 4789 dev uplink0');
    expect(host).toContain('bash scripts/setup.sh');
    const written = writeVagrantFiles(dir, gen);
    for (const f of written.filter((p) => p.endsWith('.sh'))) {
      const r = spawnSync('bash', ['-n', f], { encoding: 'utf8' });
      expect(r.status, `${f}: ${r.stderr}`).toBe(0);
    }
  });

  it('vagrant/Vagrantfile defines every machine with its NICs for libvirt and VirtualBox', () => {
    // ruby comes from scripts/setup.sh; without it this test cannot check the Vagrantfile.
    expect(has('ruby'), 'ruby is needed to evaluate vagrant/Vagrantfile: run scripts/setup.sh').toBe(true);
    writeVagrantFiles(dir, gen);
    const harness = join(dir, 'harness.rb');
    writeFileSync(harness, RUBY_HARNESS);
    const env = { ...process.env, PATHSTEER_SPEC: resolve('examples/testbed/clos-2x2.json'), PATHSTEER_VAGRANT_DIR: dir };
    const r = spawnSync('ruby', [harness, resolve('vagrant/Vagrantfile')], { encoding: 'utf8', env });
    expect(r.status, r.stderr).toBe(0);
    const log = JSON.parse(r.stdout) as LogEntry[];
    const defined = log.filter((e) => e.call === 'define').map((e) => e.args![0]);
    expect(defined).toEqual(gen.topology.machines.map((m) => m.name));
    for (const m of gen.topology.machines) {
      const nets = (provider: string) =>
        log.filter((e) => e.call === 'network' && e.path.join('/') === `vm/define/${m.name}/vm/provider/${provider}/override/vm`);
      const lv = nets('libvirt');
      const vb = nets('virtualbox');
      expect(lv.map((e) => e.kw!.mac)).toEqual(m.nics.map((n) => n.mac));
      expect(lv.map((e) => e.kw!.libvirt__tunnel_local_port)).toEqual(m.nics.map((n) => n.udp.local_port));
      expect(vb.map((e) => e.kw!.virtualbox__intnet)).toEqual(m.nics.map((n) => n.intnet));
      expect(vb.every((e) => e.kw!.auto_config === false)).toBe(true);
      const prov = log.find((e) => e.call === 'provision' && e.path.join('/') === `vm/define/${m.name}/vm`)!;
      expect(prov.kw!.path).toBe(join(dir, m.provision));
    }
    if (has('vagrant')) {
      const v = spawnSync('vagrant', ['validate', '--ignore-provider'], { cwd: 'vagrant', encoding: 'utf8', env, timeout: 120_000 });
      expect(v.status, v.stdout + v.stderr).toBe(0);
      expect(v.stdout).toContain('Vagrantfile validated successfully');
    }
  });
});
