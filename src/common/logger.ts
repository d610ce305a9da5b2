/**
 * The process-wide pino logger. Logs are JSON on stderr so that a command's
 * stdout (tables, --json output) stays machine-readable. Modules take a child:
 * `logger.child({ module: 'agent/prober' })`.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

const level = process.env.PATHSTEER_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');

export const logger: Logger = pino({ level, base: { pid: process.pid } }, pino.destination(2));

/** Change the level of the root logger and every child made afterwards. */
export function setLogLevel(l: string): void {
  logger.level = l;
}
