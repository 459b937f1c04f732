/**
 * piat-ts/experiments: the PIAT paper's experiments, and what the notebooks call. The library they
 * build on is the other entry point, `piat-ts` (src/index.ts); a notebook imports both:
 *
 *   import * as piat from "../src/index";                // attacks, objectives, training, plots
 *   import * as ex from "../src/experiments/index";      // profiles, the pool, the paper's tables
 */

// ---- Notebook set-up: profiles, the header every notebook opens with, per-profile recipes ----
export * from './profiles';
export * from './notebook';
export * from './recipes';
export * from './setup';

// ---- Methods by the paper's names, and training several on the same data ----
export * from './methods';
export * from './compare-methods';

// ---- The shared pool of training runs behind notebooks 02–10 ----
export * from './pool';
export { sweepMode, poolMethodFromLabel, poolSweepDir, SWEEP_MODES } from './pool-handoff'; // PIAT_SWEEP: local, workers, slurm

// ---- One module per notebook: its computation, table rows and comparison with the paper ----
export * from './toy'; // 01
export * from './fig1'; // 02
export * from './curve-stats'; // 02, 10: curves over seeds
export * from './method-tables'; // 03–08: Best / Final tables and their layout
export * from './table1'; // 03
export * from './piat-tables'; // 04, 06, 07
export * from './table4'; // 05
export * from './sweeps'; // 08, 10
export * from './landscape'; // 09
export * from './overfit-search'; // 11: the search behind the overfit profile

// ---- The paper's reported numbers, and statistics over seeds ----
export * from './paper-values';
export * from '../stats';
