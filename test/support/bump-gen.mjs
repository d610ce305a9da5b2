// Advance ps_config.path_gen N times from this process (the pinned map at
// `pin`), for the test that two writers at once lose no increment:
//   node bump-gen.mjs '{"pin": "/sys/fs/bpf/.../ps_config", "n": 2000}'
import { BpfMap } from '../../dist/src/loader/index.js';
import { PathGen } from '../../dist/src/maps/path-gen.js';

const a = JSON.parse(process.argv[2] ?? '{}');
const config = BpfMap.fromPin(a.pin);
const gen = PathGen.open(config);
try {
  if (!gen.atomic) throw new Error('syscall programs unavailable');
  for (let i = 0; i < a.n; i++) gen.bump();
  process.stdout.write(`${JSON.stringify({ bumped: a.n })}\n`);
} finally {
  gen.close();
  config.close();
}
