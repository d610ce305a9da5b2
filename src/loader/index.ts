/** libbpf through koffi: objects, maps, TC attach, pins, ring buffers, test runs, BTF. */
export { Btf, BtfKind, elfSection, type BtfMapDef, type BtfMember, type BtfStruct, type BtfVar } from './btf.js';
export { BPF_FS_MAGIC, BPFFS_MOUNT_POINT, BpffsError, ensureBpffs, fsMagic, fsTypeName, type BpffsState } from './bpffs.js';
export { BpfError, errnoCode, LibbpfMissingError, PinMismatchError } from './errors.js';
export { ifIndex, possibleCpus } from './libbpf.js';
export { BpfLink } from './link.js';
export { BpfMap, BPF_F_NO_PREALLOC, MapType, mapInfo, mapTypeName, UpdateFlag, type BatchRead, type MapInfo, type MapSpec } from './map.js';
export { currentNetns, netnsScope, type NetnsIdentity } from './netns.js';
export { BpfObject, BpfProgram, pinDifferences, type MapDef, type ObjectState, type PinPlan } from './object.js';
export { mapsOfProgram, progInfo, progInfoById, type ProgInfo } from './prog.js';
export { RingBuffer, type RecordHandler } from './ringbuf.js';
export { Teardown } from './teardown.js';
export { requireIfIndex, tcAttach, tcDetach, tcHookCreate, tcHookDestroy, tcQuery, type TcAttachOptions, type TcFilter, type TcPoint } from './tc.js';
export { BPF_F_TEST_SKB_CHECKSUM_COMPLETE, testRun, testRunSyscall, type TestRunOptions, type TestRunResult } from './test-run.js';
