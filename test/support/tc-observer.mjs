// Attach the test-only csum_state observer (bpf/testing/csum_state.bpf.c) to an
// interface's TC ingress ahead of pathsteer's filters, in the namespace this
// runs in (`nsenter --net=/run/netns/NS -- node tc-observer.mjs '{"ifname","pin"}'`),
// and pin its counter map at `pin` so the test can read it from outside.
// The filter goes away with the namespace; the test removes the pin.
import { BpfObject, ifIndex, tcAttach, tcHookCreate } from '../../dist/src/loader/index.js';
import { objectPath } from '../../dist/src/maps/objects.js';

const a = JSON.parse(process.argv[2] ?? '{}');
const obj = BpfObject.open(objectPath('csumState')).load();
try {
  obj.map('csum_states').pin(a.pin);
  const ifindex = ifIndex(a.ifname);
  tcHookCreate(ifindex);
  const f = tcAttach(obj.program('csum_state').fd, ifindex, 'ingress', { priority: 1 });
  process.stdout.write(`${JSON.stringify(f)}\n`);
} finally {
  obj.close();
}
