/**
 * `pathsteer altpath status [--controller URL] [--json] [--all] [--limit N]`:
 * ask a running controller (or collector) for its routes per prefix with
 * rank, the tables injected per DSCP, per-route performance and overrides.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { PathsteerError, UsageError } from '../../../common/errors.js';
import { STATUS_PATH } from '../../../altpath/controller/http.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const schema = z.object({
  controller: z.string().url('not a URL (e.g. http://127.0.0.1:11020)'),
  json: z.boolean().optional(),
  all: z.boolean().optional(),
  limit: zcli.int(1, 10_000_000).optional(),
});

interface RouteRow {
  rank: number | null;
  peer: string;
  peer_asn: number;
  as_path: string;
  next_hop: string | null;
  table?: string | null;
  policy?: string;
  performance?: { samples: number; srtt_median_ms: number | null; retrans_rate: number | null };
}

function text(s: Record<string, any>): string {
  const lines: string[] = [];
  // controller status: prefixes[] and bmp{}; collector status: rib[] and the counts at the top level
  const prefixes = (Array.isArray(s.prefixes) ? s.prefixes : Array.isArray(s.rib) ? s.rib : []) as Array<{ prefix: string; routes: RouteRow[]; override?: { routeId: string } | null; active?: boolean }>;
  const bmp = (s.bmp ?? s) as { prefixes?: number; routes?: number; sessions?: unknown[] };
  lines.push(`${s.schema}: ${bmp.prefixes ?? 0} prefixes, ${bmp.routes ?? 0} routes, ${(bmp.sessions ?? []).length} BMP session(s)`);
  if (s.samples) lines.push(`samples: ${s.samples.accepted} accepted, ${s.samples.rejected} rejected, ${s.samples.unjoined} unjoined; cycles ${s.cycles}${s.last_cycle ? `, last ${s.last_cycle.ms} ms` : ''}`);
  for (const p of prefixes) {
    lines.push(`${p.prefix}${p.active === false ? ' (inactive)' : ''}${p.override ? `  OVERRIDE -> ${p.override.routeId}` : ''}`);
    for (const r of p.routes) {
      const perf = r.performance && r.performance.samples ? `  ${r.performance.samples} samples, median srtt ${r.performance.srtt_median_ms} ms, retrans ${r.performance.retrans_rate}` : '';
      lines.push(`  ${String(r.rank ?? '-').padStart(2)} ${r.peer.padEnd(16)} AS${String(r.peer_asn).padEnd(11)} [${r.as_path}] via ${r.next_hop ?? '-'}${r.table ? `  table ${r.table}` : ''}${r.policy ? ` (${r.policy})` : ''}${perf}`);
    }
  }
  for (const [inj, t] of Object.entries((s.tables ?? {}) as Record<string, Record<string, Record<string, string>>>)) {
    for (const [slot, routes] of Object.entries(t)) lines.push(`injected ${inj} ${slot}: ${Object.entries(routes).map(([p, nh]) => `${p} via ${nh}`).join(', ') || '(empty)'}`);
  }
  return lines.join('\n');
}

export function registerAltpathStatus(altpath: Command, _ctx: CliContext): void {
  altpath
    .command('status')
    .description('routes per prefix with rank, injected tables, per-route performance, overrides of a running controller')
    .option('--controller <URL>', 'the controller (or collector) HTTP address', 'http://127.0.0.1:11020')
    .option('--all', 'every RIB prefix, not only the active ones')
    .option('--limit <n>', 'at most this many prefixes [1000]')
    .option('--json', 'print JSON')
    .action(
      action(async (raw: Record<string, unknown>): Promise<CommandOutput> => {
        const o = parseOptions(schema, raw);
        const url = new URL(STATUS_PATH, o.controller);
        if (o.all) url.searchParams.set('all', '1');
        if (o.limit) url.searchParams.set('limit', String(o.limit));
        let res: Response;
        try {
          res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        } catch (e) {
          throw new PathsteerError(`cannot reach the AltPath controller at ${o.controller}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`);
        }
        if (!res.ok) throw new PathsteerError(`${url}: HTTP ${res.status} ${await res.text()}`);
        const body = (await res.json()) as Record<string, unknown>;
        if (typeof body.schema !== 'string') throw new UsageError(`${url} did not answer with an AltPath status`);
        return { data: body, text: text(body) };
      }),
    );
}
