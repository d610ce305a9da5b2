/** Typed access to pathsteer's BPF maps: one codec per shared struct, typed maps, the per-interface data plane. */
export { ActivityCodec, combineActivity, type Activity } from './activity.js';
export {
  AltpathCodec,
  AltpathRuleCodec,
  AltpathSlotCodec,
  LpmKeyCodec,
  PS_ALTPATH_CACHE_SLOTS,
  PS_ALTPATH_MAX_RULES,
  type Altpath,
  type AltpathRule,
  type AltpathSlot,
  type LpmPrefix,
} from './altpath.js';
export type { Codec, FieldLayout } from './codec.js';
export { ConfigCodec, type PsConfig } from './config.js';
export { ConnConfigCodec, type ConnConfig } from './conn-config.js';
export { AF_INET, AF_INET6, ConnEventCodec, connEventAddrs, type ConnEvent } from './conn-event.js';
export * from './dataplane.js';
export * from './altpath-dataplane.js';
export { checkConnConfig, ConnStats, DEFAULT_MARKED_MULTIPLIER, DEFAULT_SAMPLE_RATE, ownNetnsInode, type ConnStatsOptions } from './conn-stats.js';
export { EMPTY_FLOW_SLOT, flowSlotOf, FlowSlotCodec, pendingActivity, PS_FLOW_CACHE_SLOTS, type FlowSlot } from './flow-cache.js';
export { PathGen } from './path-gen.js';
export { BpfObjects, MapName, ProgName, PS_AP_STAT_MAX, PS_STAT_MAX, PsAltpathStat, PsStat, type PsAltpathStatName, type PsStatName } from './names.generated.js';
export { bpfDir, objectPath, type ObjectKey } from './objects.js';
export { flagNames, PathEntryCodec, pathEntry, PS_F_PIN, PS_F_PREFER, PS_F_STATEFUL, PS_MAX_GROUPS, PS_MAX_PORTS, type PathEntry } from './path-entry.js';
export { PinKeyCodec, PinValCodec, type PinKey, type PinVal } from './pin.js';
export { DEFAULT_AGENT_PORT, probeArrivalTtl, PROBE_TTL_FLAG_OFFSET, PROBE_TTL_OFFSET, PS_PROBE_TTL_VALID } from './probe.js';
export {
  LearnKeyCodec,
  LearnValCodec,
  PS_REFLECT_MAX_RATE,
  PS_RF_LEARN,
  PS_RF_REFLECT,
  ReflectCfgCodec,
  reflectTables,
  ReflectSrcCodec,
  type LearnKey,
  type LearnVal,
  type ReflectCfg,
  type ReflectSrc,
  type ReflectTables,
} from './reflect.js';
export { ipv4Bytes, ipv4String, PeerCodec, U32Codec, U64Codec, U8Codec } from './scalar.js';
export { diffStats, readCounters, readStats, resetCounters, resetStats, statsMap, type StatCounts } from './stats.js';
export { TypedMap, type TypedMapOptions } from './typed-map.js';

import { ActivityCodec } from './activity.js';
import { AltpathCodec, AltpathRuleCodec, AltpathSlotCodec, LpmKeyCodec } from './altpath.js';
import type { Codec } from './codec.js';
import { ConfigCodec } from './config.js';
import { ConnConfigCodec } from './conn-config.js';
import { ConnEventCodec } from './conn-event.js';
import { FlowSlotCodec } from './flow-cache.js';
import { PathEntryCodec } from './path-entry.js';
import { MapName } from './names.generated.js';
import { PinKeyCodec, PinValCodec } from './pin.js';
import { LearnKeyCodec, LearnValCodec, ReflectCfgCodec, ReflectSrcCodec } from './reflect.js';
import { PeerCodec, U32Codec, U64Codec, U8Codec } from './scalar.js';

/** Every struct codec by TypeScript name, for the BTF layout test (each must match its C struct). */
export const STRUCT_CODECS: Readonly<Record<string, Codec<never>>> = {
  PsConfig: ConfigCodec,
  PathEntry: PathEntryCodec,
  PinKey: PinKeyCodec,
  PinVal: PinValCodec,
  Activity: ActivityCodec,
  FlowSlot: FlowSlotCodec,
  ReflectCfg: ReflectCfgCodec,
  ReflectSrc: ReflectSrcCodec,
  LearnKey: LearnKeyCodec,
  LearnVal: LearnValCodec,
  AltpathRule: AltpathRuleCodec,
  Altpath: AltpathCodec,
  AltpathSlot: AltpathSlotCodec,
  LpmKey: LpmKeyCodec,
  ConnConfig: ConnConfigCodec,
  ConnEvent: ConnEventCodec,
} as unknown as Record<string, Codec<never>>;

/** Key and value codec of every map (ps_conn_events: its records). */
export const MAP_CODECS: Readonly<Record<string, { key?: Codec<never>; value: Codec<never> }>> = {
  [MapName.config]: { key: U32Codec, value: ConfigCodec },
  [MapName.stats]: { key: U32Codec, value: U64Codec },
  [MapName.path]: { key: PeerCodec, value: PathEntryCodec },
  [MapName.pin]: { key: PinKeyCodec, value: PinValCodec },
  [MapName.activity]: { key: PeerCodec, value: ActivityCodec },
  [MapName.flowCache]: { key: U32Codec, value: FlowSlotCodec },
  [MapName.reflect]: { key: U32Codec, value: ReflectCfgCodec },
  [MapName.reflectSrc]: { key: PeerCodec, value: ReflectSrcCodec },
  [MapName.learn]: { key: LearnKeyCodec, value: LearnValCodec },
  [MapName.altpath]: { key: U32Codec, value: AltpathCodec },
  [MapName.altpathExclude]: { key: LpmKeyCodec, value: U8Codec },
  [MapName.altpathStats]: { key: U32Codec, value: U64Codec },
  [MapName.altpathCache]: { key: U32Codec, value: AltpathSlotCodec },
  [MapName.connConfig]: { key: U32Codec, value: ConnConfigCodec },
  [MapName.connStart]: { key: U64Codec, value: U64Codec },
  [MapName.connEvents]: { value: ConnEventCodec },
} as unknown as Record<string, { key?: Codec<never>; value: Codec<never> }>;
