/** Reading a JSON file a user named (config, spec): a UsageError says which file and what is wrong. */
import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';

/**
 * The parsed contents of the JSON file at path. `what` names it in errors:
 * "cannot read WHAT PATH: ..." or "WHAT PATH is not valid JSON: ...".
 */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UsageError(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}
