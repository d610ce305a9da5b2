/** The fleet store: one interface (store.ts), Redis and memory implementations, the data model (schema.ts). */
import type { Logger } from '../../common/logger.js';
import { MemoryStore } from './memory.js';
import { RedisStore, type RedisStoreOptions } from './redis.js';
import type { FleetStore } from './store.js';

export * from './schema.js';
export * from './store.js';
export { MemoryStore } from './memory.js';
export { RedisStore, decodePeer, encodePeer, hostWriteCommands, type RedisStoreOptions } from './redis.js';

/** `memory:` gives an in-process store; anything else is a Redis URL. */
export async function openStore(url: string, o: RedisStoreOptions & { log?: Logger } = {}): Promise<FleetStore> {
  if (url === 'memory:') return new MemoryStore();
  return RedisStore.open(url, o);
}
