/** Typed access to pathsteer's BPF maps: one codec per shared struct, typed maps, the per-interface data plane. */
export { ActivityCodec, combineActivity, type Activity } from './activity.js';
export { AltpathCodec, AltpathRuleCodec, LpmKeyCodec, PS_ALTPATH_MAX_RULES, type Altpath, type AltpathRule, type LpmPrefix } from './altpath.js';
export type { Codec, FieldLayout } from './codec.js';
export { ConfigCodec, type PsConfig } from './config.js';
export { AF_INET, AF_INET6, ConnEventCodec, connEventAddrs, type ConnEvent } from './conn-event.js';
export * from './dataplane.js';
export { BpfObjects, MapName, ProgName, PS_STAT_MAX, PsStat, type PsStatName } from './names.generated.js';
export { bpfDir, objectPath, type ObjectKey } from './objects.js';
export { flagNames, PathEntryCodec, pathEntry, PS_F_PIN, PS_F_PREFER, PS_F_STATEFUL, PS_MAX_GROUPS, PS_MAX_PORTS, type PathEntry } from './path-entry.js';
export { PinKeyCodec, PinValCodec, type PinKey, type PinVal } from './pin.js';
export { ipv4Bytes, ipv4String, PeerCodec, U32Codec, U64Codec, U8Codec } from './scalar.js';
export { diffStats, readStats, resetStats, statsMap, type StatCounts } from './stats.js';
export { TypedMap } from './typed-map.js';

import { ActivityCodec } from './activity.js';
import { AltpathCodec, AltpathRuleCodec, LpmKeyCodec } from './altpath.js';
import type { Codec } from './codec.js';
import { ConfigCodec } from './config.js';
import { ConnEventCodec } from './conn-event.js';
import { PathEntryCodec } from './path-entry.js';
import { PinKeyCodec, PinValCodec } from './pin.js';

/** Every struct codec, for the BTF layout test (each must match its C struct). */
export const STRUCT_CODECS: ReadonlyArray<Codec<never>> = [
  ConfigCodec,
  PathEntryCodec,
  PinKeyCodec,
  PinValCodec,
  ActivityCodec,
  AltpathRuleCodec,
  AltpathCodec,
  LpmKeyCodec,
  ConnEventCodec,
] as unknown as ReadonlyArray<Codec<never>>;
