/**
 * A BPF link (libbpf `struct bpf_link`): what attaching a tracing program
 * (tracepoint, kprobe, ...) by its SEC() name creates. The attachment lasts
 * as long as the link: destroy() (or the process exiting) detaches it, so a
 * tracing program never outlives the process that reads its output.
 */
import { BpfError, check } from './errors.js';
import { libbpf, type Ptr } from './libbpf.js';

export class BpfLink {
  private link: Ptr | null;

  /** Takes ownership of a libbpf link pointer. */
  constructor(
    readonly program: string,
    link: Ptr,
  ) {
    this.link = link;
  }

  get attached(): boolean {
    return this.link !== null;
  }

  /** The link's file descriptor (owned by the link). */
  get fd(): number {
    if (!this.link) throw new BpfError(`link ${this.program}: destroyed`, 9);
    return check(`bpf_link__fd ${this.program}`, libbpf().bpf_link__fd(this.link) as number);
  }

  /** Detach and free the link. Safe to call twice. */
  destroy(): void {
    const l = this.link;
    this.link = null;
    if (l) check(`bpf_link__destroy ${this.program}`, libbpf().bpf_link__destroy(l) as number);
  }
}
