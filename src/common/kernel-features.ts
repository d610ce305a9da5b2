/**
 * What the running kernel can do, read from /proc/config.gz (or /boot/config-*),
 * so commands can say which feature is missing rather than fail obscurely.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { release } from 'node:os';
import { KernelFeatureError } from './errors.js';

export type ConfigValue = 'y' | 'm' | undefined;

let cached: Map<string, string> | undefined;

function loadConfig(): Map<string, string> {
  if (cached) return cached;
  let text = '';
  if (existsSync('/proc/config.gz')) text = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  else if (existsSync(`/boot/config-${release()}`)) text = readFileSync(`/boot/config-${release()}`, 'utf8');
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (line.startsWith('CONFIG_') && eq > 0) m.set(line.slice(0, eq), line.slice(eq + 1));
  }
  cached = m;
  return m;
}

/** True when the kernel config is readable at all. */
export function kernelConfigKnown(): boolean {
  return loadConfig().size > 0;
}

/** `y`, `m` or undefined (not set) for a CONFIG_ option. */
export function kernelConfig(option: string): ConfigValue {
  const v = loadConfig().get(option.startsWith('CONFIG_') ? option : `CONFIG_${option}`);
  return v === 'y' || v === 'm' ? v : undefined;
}

/**
 * True when the kernel has the option built in or as a module. When the config
 * cannot be read, answers true (the operation itself will tell).
 */
export function kernelHas(option: string): boolean {
  if (!kernelConfigKnown()) return true;
  return kernelConfig(option) !== undefined;
}

/** Throw KernelFeatureError when the option is off. */
export function requireKernel(option: string, what: string): void {
  if (!kernelHas(option)) {
    throw new KernelFeatureError(option.startsWith('CONFIG_') ? option : `CONFIG_${option}`, what);
  }
}
