import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Prints every real program the tests run and its version, once per run.
    globalSetup: ["test/support/print-tool-versions.ts"],
    // Program runs under Pulumi mocks and real Prometheus/Alertmanager processes are slow to start.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Pulumi's runtime state is process-global: keep each test file in its own worker.
    pool: "forks",
  },
});
