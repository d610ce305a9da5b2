/**
 * Vitest reporter: under PATHSTEER_REQUIRE_PRIVILEGED=1 (CI), any skipped test
 * fails the run, so a privileged suite can never silently not run.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class NoSkipReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    if (process.env.PATHSTEER_REQUIRE_PRIVILEGED !== '1') return;
    const skipped: string[] = [];
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        if (t.result().state === 'skipped') skipped.push(`${m.moduleId} > ${t.fullName}`);
      }
    }
    if (skipped.length > 0) {
      process.stderr.write(
        `\nPATHSTEER_REQUIRE_PRIVILEGED=1: ${skipped.length} test(s) skipped, which fails the run:\n  ${skipped.join('\n  ')}\n`,
      );
      process.exitCode = 1;
    }
  }
}
