/**
 * The pathsteer wire protocol (DESIGN §3): negotiation, telemetry and
 * table-update packets, shared by the agent and gateway-sim.
 */
export * from './constants.js';
export * from './errors.js';
export * from './messages.js';
export * from './reflect.js';
export * from './addr.js';
export * from './framer.js';
