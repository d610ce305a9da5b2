/** A real redis-server per suite (bench/redis-server.ts, shared with `pathsteer bench fleet`). */
export { startRedis, type TestRedis } from '../../bench/redis-server.js';
