/**
 * Parse a `POST /v1/samples` body (NDJSON, one ConnSample a line; see
 * ../sample.ts). Each bad line is rejected alone, with its 1-based line
 * number and the reason; blank lines are ignored. The reply lists the first
 * `maxErrors` errors.
 */
import { ConnSampleSchema, type ConnSample, type SamplesReply } from '../sample.js';

export interface ParsedSamples extends SamplesReply {
  samples: ConnSample[];
}

export function parseSamples(body: string, maxErrors = 10): ParsedSamples {
  const samples: ConnSample[] = [];
  const errors: SamplesReply['errors'] = [];
  let rejected = 0;
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    if (!text) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      rejected++;
      if (errors.length < maxErrors) errors.push({ line: i + 1, message: `not JSON: ${e instanceof Error ? e.message : String(e)}` });
      continue;
    }
    const r = ConnSampleSchema.safeParse(value);
    if (!r.success) {
      rejected++;
      if (errors.length < maxErrors) {
        errors.push({ line: i + 1, message: r.error.issues.map((x) => `${x.path.join('.') || 'sample'}: ${x.message}`).join('; ') });
      }
      continue;
    }
    samples.push(r.data);
  }
  return { samples, accepted: samples.length, rejected, errors };
}
