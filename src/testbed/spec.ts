/**
 * Testbed topology spec: the JSON file `pathsteer testbed up --spec FILE` reads
 * (examples/testbed/*.json). Validated with zod; every problem is reported in
 * one UsageError naming the field, so a typo never becomes a half-built fabric.
 *
 * A spec lists spines, leaves (each leaf connects to every spine of its
 * region: a 2-tier Clos), hosts (each behind one leaf, each with tenant VMs),
 * optional gateways (behind a leaf, announcing "Internet" prefixes) and
 * optional WAN links joining routers of different regions. Link delay/rate
 * defaults apply to every link and can be overridden per link name.
 */
import { z } from 'zod';
import { UsageError } from '../common/errors.js';
import { readJsonFile } from '../common/json-file.js';
import { prefixWithin, zip } from '../common/net.js';

/** Node names become interface names on the peer (IFNAMSIZ 15) and namespace suffixes. */
export const NODE_NAME_RE = /^[a-z][a-z0-9]{0,11}$/;

/** Names that would clash with interfaces the testbed creates itself. */
export const RESERVED_NAMES = new Set(['lo', 'eth0', 'br0', 'vxlan0', 'inet0', 'all', 'default', 'none', 'dev']);

/** "Internet" prefixes a gateway may announce (DESIGN §9: test ranges only). */
export const INTERNET_RANGES = ['203.0.113.0/24', '198.51.100.0/24'] as const;

export const TUNNEL_DEFAULTS = {
  vxlan: { port: 4789, vni: 100, device: 'vxlan0' },
  flannel: { port: 8472, vni: 1, device: 'flannel.1' },
  geneve: { port: 6081, vni: 100, device: 'geneve0' },
} as const;
export type TunnelType = keyof typeof TUNNEL_DEFAULTS;

const nodeName = z
  .string()
  .regex(NODE_NAME_RE, 'node names are 1-12 characters [a-z0-9], starting with a letter')
  .refine((s) => !RESERVED_NAMES.has(s), 'this name is reserved for an interface the testbed creates');

const router = z.union([nodeName, z.strictObject({ name: nodeName, region: nodeName.optional() })]);

const linkProps = z.strictObject({
  /** One-way delay added in each direction, in ms (NFQUEUE helper). @default 0 */
  delayMs: z.number().min(0).max(10_000).optional(),
  /** Uniform jitter (+-) around delayMs, in ms. @default 0 */
  jitterMs: z.number().min(0).max(10_000).optional(),
  /** Rate limit in Mbit/s in each direction (tbf); 0 = unlimited. @default 0 */
  rateMbit: z.number().min(0).max(100_000).optional(),
});
export type LinkProps = z.infer<typeof linkProps>;

const cidr = z.string().regex(/\//, 'not an IPv4 prefix a.b.c.d/len').pipe(zip.ipv4Prefix());

export const specSchema = z.strictObject({
  /** Free-form name shown by status. */
  name: z.string().min(1).max(64),
  description: z.string().optional(),
  tunnel: z
    .strictObject({
      type: z.enum(['vxlan', 'flannel', 'geneve']),
      /** UDP destination port. @default 4789 (vxlan), 8472 (flannel), 6081 (geneve) */
      port: z.number().int().min(1).max(65535).optional(),
      /** VXLAN network identifier. @default 100 (vxlan, geneve), 1 (flannel) */
      vni: z.number().int().min(1).max(16_777_215).optional(),
      /** Outer UDP checksum on transmit (iproute2 udpcsum/noudpcsum); unset = kernel default. */
      udpCsum: z.boolean().optional(),
    })
    .default({ type: 'vxlan' }),
  /** MTU of every underlay veth; must leave room for the 50-byte VXLAN header. @default 1600 */
  underlayMtu: z.number().int().min(1280).max(9000).default(1600),
  /** MTU of tenant interfaces (VM eth0, bridge, tunnel device). @default 1500 */
  tenantMtu: z.number().int().min(576).max(8950).default(1500),
  spines: z.array(router).max(64).default([]),
  leaves: z.array(router).min(1).max(120),
  hosts: z
    .array(
      z.strictObject({
        name: nodeName,
        leaf: nodeName,
        /** Tenant VM names (each its own namespace behind the host's bridge). */
        vms: z.array(nodeName).default([]),
      }),
    )
    .min(1),
  gateways: z
    .array(
      z.strictObject({
        name: nodeName,
        leaf: nodeName,
        /** Prefixes announced behind the gateway; only 203.0.113.0/24 and 198.51.100.0/24 ranges. */
        prefixes: z.array(cidr).default(['203.0.113.0/24']),
      }),
    )
    .default([]),
  /** Links between routers of different regions (or any extra router-router link). */
  wan: z.array(z.strictObject({ a: nodeName, b: nodeName }).extend(linkProps.shape)).default([]),
  /** Defaults for every underlay link. */
  links: linkProps.default({}),
  /** Per-link overrides by link name (e.g. "spine1-leaf2"). */
  linkOverrides: z.record(z.string(), linkProps).default({}),
});

export type TestbedSpecInput = z.input<typeof specSchema>;
export type TestbedSpecParsed = z.infer<typeof specSchema>;

export interface RouterSpec {
  name: string;
  region: string;
}

/** A validated spec with defaults filled in and routers normalised to objects. */
export interface TestbedSpec {
  name: string;
  description?: string;
  tunnel: { type: TunnelType; port: number; vni: number; device: string; udpCsum?: boolean };
  underlayMtu: number;
  tenantMtu: number;
  spines: RouterSpec[];
  leaves: RouterSpec[];
  hosts: Array<{ name: string; leaf: string; vms: string[] }>;
  gateways: Array<{ name: string; leaf: string; prefixes: string[] }>;
  wan: Array<{ a: string; b: string } & LinkProps>;
  links: LinkProps;
  linkOverrides: Record<string, LinkProps>;
}

const DEFAULT_REGION = 'main';

export { prefixWithin };

/**
 * Validate a parsed JSON value as a testbed spec. Throws UsageError listing
 * every problem (`hosts.1.leaf: no leaf named "leaf9"`).
 */
export function parseSpec(input: unknown, source = 'spec'): TestbedSpec {
  const r = specSchema.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new UsageError(`invalid testbed ${source}: ${problems.join('; ')}`);
  }
  const s = r.data;
  const norm = (x: string | { name: string; region?: string | undefined }): RouterSpec =>
    typeof x === 'string' ? { name: x, region: DEFAULT_REGION } : { name: x.name, region: x.region ?? DEFAULT_REGION };
  const spines = s.spines.map(norm);
  const leaves = s.leaves.map(norm);
  const defaults = TUNNEL_DEFAULTS[s.tunnel.type];
  const spec: TestbedSpec = {
    name: s.name,
    ...(s.description !== undefined ? { description: s.description } : {}),
    tunnel: {
      type: s.tunnel.type,
      port: s.tunnel.port ?? defaults.port,
      vni: s.tunnel.vni ?? defaults.vni,
      device: defaults.device,
      ...(s.tunnel.udpCsum !== undefined ? { udpCsum: s.tunnel.udpCsum } : {}),
    },
    underlayMtu: s.underlayMtu,
    tenantMtu: s.tenantMtu,
    spines,
    leaves,
    hosts: s.hosts,
    gateways: s.gateways,
    wan: s.wan,
    links: s.links,
    linkOverrides: s.linkOverrides,
  };
  const problems = checkSemantics(spec);
  if (problems.length > 0) throw new UsageError(`invalid testbed ${source}: ${problems.join('; ')}`);
  return spec;
}

/** Cross-field checks zod cannot express: names, references, limits, connectivity. */
function checkSemantics(s: TestbedSpec): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const claim = (name: string, where: string): void => {
    const prev = seen.get(name);
    if (prev) problems.push(`${where}: name "${name}" is already used by ${prev}`);
    else seen.set(name, where);
  };
  s.spines.forEach((r, i) => claim(r.name, `spines.${i}`));
  s.leaves.forEach((r, i) => claim(r.name, `leaves.${i}`));
  s.hosts.forEach((h, i) => {
    claim(h.name, `hosts.${i}`);
    h.vms.forEach((v, j) => claim(v, `hosts.${i}.vms.${j}`));
  });
  s.gateways.forEach((g, i) => claim(g.name, `gateways.${i}`));

  const leafByName = new Map(s.leaves.map((l) => [l.name, l]));
  const routers = new Map([...s.spines, ...s.leaves].map((r) => [r.name, r]));
  const perLeaf = new Map<string, number>();
  s.hosts.forEach((h, i) => {
    if (!leafByName.has(h.leaf)) problems.push(`hosts.${i}.leaf: no leaf named "${h.leaf}"`);
    perLeaf.set(h.leaf, (perLeaf.get(h.leaf) ?? 0) + 1);
  });
  s.gateways.forEach((g, i) => {
    if (!leafByName.has(g.leaf)) problems.push(`gateways.${i}.leaf: no leaf named "${g.leaf}"`);
    perLeaf.set(g.leaf, (perLeaf.get(g.leaf) ?? 0) + 1);
    g.prefixes.forEach((p, j) => {
      if (!INTERNET_RANGES.some((r) => prefixWithin(p, r))) {
        problems.push(`gateways.${i}.prefixes.${j}: ${p} is outside the test ranges ${INTERNET_RANGES.join(', ')}`);
      }
    });
  });
  for (const [leaf, n] of perLeaf) if (n > 127) problems.push(`leaf "${leaf}" has ${n} hosts and gateways; at most 127`);
  if (s.spines.length > 60) problems.push(`spines: at most 60 (got ${s.spines.length})`);
  if (s.leaves.length > 127) problems.push(`leaves: at most 127 (got ${s.leaves.length})`);
  if (s.spines.length + s.leaves.length > 250) problems.push('at most 250 routers');
  if (s.wan.length > 127) problems.push('wan: at most 127 links');

  // Tenant addresses: VMs take 192.0.2.1.., host bridges (local tenant) 192.0.2.254 downwards.
  const nvms = s.hosts.reduce((n, h) => n + h.vms.length, 0);
  if (nvms + s.hosts.length > 253) {
    problems.push(`${nvms} VMs and ${s.hosts.length} hosts do not fit the tenant range 192.0.2.0/24 (253 addresses)`);
  }
  if (s.tenantMtu + 50 > s.underlayMtu) {
    problems.push(
      `tenantMtu ${s.tenantMtu} + 50 bytes of VXLAN/UDP/IP/Ethernet headers exceeds underlayMtu ${s.underlayMtu}; raise underlayMtu or lower tenantMtu`,
    );
  }

  const wanNames = new Set<string>();
  s.wan.forEach((w, i) => {
    if (!routers.has(w.a)) problems.push(`wan.${i}.a: no spine or leaf named "${w.a}"`);
    if (!routers.has(w.b)) problems.push(`wan.${i}.b: no spine or leaf named "${w.b}"`);
    if (w.a === w.b) problems.push(`wan.${i}: a link needs two different ends`);
    const key = [w.a, w.b].sort().join('|');
    if (wanNames.has(key)) problems.push(`wan.${i}: duplicate link ${w.a}-${w.b}`);
    wanNames.add(key);
    const ra = routers.get(w.a);
    const rb = routers.get(w.b);
    if (ra && rb && leafByName.has(w.a) !== leafByName.has(w.b) && ra.region === rb.region) {
      problems.push(`wan.${i}: ${w.a} and ${w.b} are already joined by the Clos fabric of region "${ra.region}"`);
    }
  });
  if (problems.length === 0) problems.push(...checkConnected(s));
  return problems;
}

/** Every host and gateway must reach every other one through the routers. */
function checkConnected(s: TestbedSpec): string[] {
  const adj = new Map<string, Set<string>>();
  const edge = (a: string, b: string): void => {
    if (!adj.has(a)) adj.set(a, new Set());
    if (!adj.has(b)) adj.set(b, new Set());
    adj.get(a)!.add(b);
    adj.get(b)!.add(a);
  };
  for (const l of s.leaves) {
    adj.set(l.name, adj.get(l.name) ?? new Set());
    for (const sp of s.spines) if (sp.region === l.region) edge(sp.name, l.name);
  }
  for (const w of s.wan) edge(w.a, w.b);
  const start = s.leaves[0]!.name;
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length) for (const n of adj.get(queue.shift()!) ?? []) if (!seen.has(n)) (seen.add(n), queue.push(n));
  const cut = s.leaves.filter((l) => !seen.has(l.name)).map((l) => l.name);
  return cut.length ? [`leaves ${cut.join(', ')} cannot reach ${start}: add spines in their region or wan links`] : [];
}

/** Read and validate a spec file (JSON). */
export function loadSpec(path: string): TestbedSpec {
  return parseSpec(readJsonFile(path, 'testbed spec'), `spec ${path}`);
}
