/**
 * Fixed clsact slots of pathsteer's programs that share an interface's hooks.
 * altpath_dscp must run before vxlan_sport, which ends the chain (TC_ACT_OK):
 * the kernel gives a filter attached without a priority one just below the
 * first filter at 0x8000 or above (0xc000 when there is none), so every such
 * filter (vxlan_sport's) comes after this one. The ZooRoute data plane's
 * detach leaves the clsact hook in place while altpath_dscp is in it.
 */

/** clsact priority of altpath_dscp. */
export const PS_ALTPATH_TC_PRIORITY = 0x100;
/** clsact handle of altpath_dscp (any free one would do; fixed so a record names it). */
export const PS_ALTPATH_TC_HANDLE = 0xa17;
