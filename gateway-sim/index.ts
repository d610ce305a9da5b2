/** gateway-sim: a userspace model of a Tofino gateway's path tables and their update channels. */
export * from './p4/errors.js';
export * from './p4/table.js';
export * from './p4/exact-index.js';
export * from './p4/register.js';
export * from './p4/resources.js';
export * from './p4/pipeline.js';
export * from './path/types.js';
export * from './path/naive.js';
export * from './path/pbm.js';
export * from './path/hi.js';
export * from './path/stateful.js';
export * from './packet.js';
export * from './gateway.js';
export * from './channels.js';
export * from './experiments.js';
export * from './example.js';
export * from './random.js';
