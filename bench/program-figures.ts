/** What one program-scale run (bench/program-scale.run.ts) reports to bench/run.ts. */
export interface ProgramScaleFigures {
  readonly clients: number;
  /** One run in a fresh process, loading the program's modules included (about 3 s of it). */
  readonly wallMs: number;
  readonly peakRssMb: number;
  readonly peakHeapMb: number;
  readonly resources: number;
  readonly customResources: number;
  readonly longestChain: number;
  /** `type::name` along the longest chain, dependent first. */
  readonly chain: string[];
}
