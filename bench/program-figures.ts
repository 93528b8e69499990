/** What one program-scale run (bench/program-scale.run.ts) reports to bench/run.ts. */
export interface ProgramScaleFigures {
  readonly clients: number;
  /** First run in a fresh process: module loading included. */
  readonly coldMs: number;
  /** A second run in the same process. */
  readonly warmMs: number;
  readonly peakRssMb: number;
  readonly peakHeapMb: number;
  readonly resources: number;
  readonly customResources: number;
  readonly longestChain: number;
  /** `type::name` along the longest chain, dependent first. */
  readonly chain: string[];
}
