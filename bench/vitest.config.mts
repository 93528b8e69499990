import { defineConfig } from "vitest/config";

// Only for bench/run.ts: one program-scale measurement per vitest run, in its own worker.
export default defineConfig({
  test: {
    include: ["bench/program-scale.run.ts"],
    pool: "forks",
    testTimeout: 600_000,
  },
});
