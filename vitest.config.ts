import { defineConfig } from 'vitest/config';

// Benchmarks checked against their targets (test/bench-targets/): opt-in
// locally, always in CI (.ci/run sets PATHSTEER_BENCH_TARGETS=1).
const benchTargets = process.env.PATHSTEER_BENCH_TARGETS === '1';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/no-skip-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        // Root, namespaces, real BPF: one file at a time, generous timeouts.
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      ...(benchTargets
        ? [
            {
              // Measurements: one file at a time, after nothing else competes for the CPU.
              test: {
                name: 'bench-targets',
                include: ['test/bench-targets/**/*.test.ts'],
                fileParallelism: false,
                // after every other project has finished
                sequence: { groupOrder: 1 },
                testTimeout: 900_000,
                hookTimeout: 300_000,
              },
            },
          ]
        : []),
    ],
  },
});
