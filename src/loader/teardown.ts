/**
 * A stack of undo steps: each thing an operation creates pushes how to remove
 * it; on failure (or detach) the steps run in reverse order, each at most once,
 * and every step runs even if an earlier one threw (the first error is rethrown).
 */
export class Teardown {
  private readonly steps: Array<{ what: string; undo: () => void }> = [];

  push(what: string, undo: () => void): void {
    this.steps.push({ what, undo });
  }

  get size(): number {
    return this.steps.length;
  }

  /** Undo everything pushed so far, newest first. Safe to call twice. */
  run(): void {
    let first: unknown;
    while (this.steps.length > 0) {
      const s = this.steps.pop()!;
      try {
        s.undo();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }

  /** Forget the steps (the operation succeeded and its results are kept). */
  commit(): void {
    this.steps.length = 0;
  }
}
