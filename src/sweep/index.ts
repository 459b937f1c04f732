/** Sweeps on Slurm: config grids (`piat sweep --slurm`), their status and results. The notebook pool's hand-off (PIAT_SWEEP=slurm) is src/experiments/pool-handoff.ts. */
export { SlurmOptions, slurmOptionsFromFlags, slurmOptionsFromEnv, slurmScript, arraySpec, SLURM_FLAGS } from './slurm';
export { SweepManifest, SweepPoint, SweepJob, readManifest, sweepPaths } from './folder';
export { sweepStatus, formatStatus, submitUnfinished, PointStatus, PointState, SweepStatus, POINT_STATES } from './status';
export { collectSweep, writeCollected, sweepTable, toCsv, formatCollected } from './collect';
export { gridPoints, sweepRoot, slurmConfigSweep, GridPoint } from './config-sweep';
