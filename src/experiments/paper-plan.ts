/**
 * What the paper profile trains, notebook by notebook: each notebook's datasets, architecture and
 * methods (the same lists the notebooks pass to the pool), with the pool config they run under.
 * Runs are shared: a (dataset, architecture, method) trained by an earlier notebook is re-used by
 * a later one, so each notebook's `newRuns` are those no earlier notebook trained. The paper-profile
 * test checks these configs against the paper's settings; paper-cost.ts projects their GPU hours.
 */
import { DatasetName } from '../data/images';
import { FIG1_METHODS } from './fig1';
import { LANDSCAPE_METHODS } from './landscape';
import { methodLabel } from './methods';
import { FIG6_DATASETS, PIAT_PAIRS_METHODS, TABLE2_METHODS, TABLE5_METHODS, WRN_DATASETS } from './piat-tables';
import { PoolArch, PoolConfig, poolConfig, PoolMethod, poolSeeds } from './pool';
import { betaMethod, FIG7_LAMBDAS, FIG9_BETAS, lambdaMethod } from './sweeps';
import { table1Methods, TABLE1_DATASETS } from './table1';
import { table4Archs, table4Methods } from './table4';

export interface PlannedPool {
  dataset: DatasetName;
  arch: PoolArch;
  methods: (string | PoolMethod)[];
  config: PoolConfig;
}

export interface NotebookPlan {
  notebook: string;
  pools: PlannedPool[];
  /** runs (per seed) that no earlier notebook of the plan trains: "dataset/arch/method" */
  newRuns: { dataset: DatasetName; arch: PoolArch; method: string; config: PoolConfig }[];
}

const pools = (datasets: readonly DatasetName[], arch: PoolArch, methods: (string | PoolMethod)[]): PlannedPool[] =>
  datasets.map((dataset) => ({ dataset, arch, methods, config: poolConfig('paper', { dataset, arch }) }));

/** The paper profile's pools, per notebook (01, the toy example, trains no pool; 11, the search, runs at overfit only). */
export function paperPlan(): NotebookPlan[] {
  const notebooks: [string, PlannedPool[]][] = [
    ['02-oscillation-curves', pools(['cifar10'], 'resnet18', [...FIG1_METHODS])],
    ['03-table1-resnet18', pools(TABLE1_DATASETS, 'resnet18', table1Methods('paper'))],
    ['04-tables2-3-wrn', pools(WRN_DATASETS, 'wrn34-10', [...PIAT_PAIRS_METHODS, ...TABLE2_METHODS])],
    ['05-table4-vits', table4Archs('paper').flatMap((arch) => pools(['cifar10'], arch, table4Methods('paper')))],
    ['06-table5-nmse-vs-alp', pools(['cifar10', 'cifar100'], 'resnet18', TABLE5_METHODS)],
    ['07-fig6-piat-frameworks', pools(FIG6_DATASETS, 'resnet18', PIAT_PAIRS_METHODS)],
    ['08-fig7-lambda-sweep', pools(['cifar10'], 'resnet18', FIG7_LAMBDAS.map(lambdaMethod))],
    ['09-fig8-loss-landscape', pools(['cifar10'], 'resnet18', LANDSCAPE_METHODS)],
    ['10-fig9-beta-schedules', pools(['cifar10'], 'resnet18', [...FIG9_BETAS, 'dynamic' as const].map(betaMethod))],
  ];
  const trained = new Set<string>();
  return notebooks.map(([notebook, ps]) => {
    const newRuns: NotebookPlan['newRuns'] = [];
    for (const p of ps)
      for (const m of p.methods) {
        const method = typeof m === 'string' ? m : methodLabel(m.name, m.variant);
        for (const seed of poolSeeds(p.config)) {
          const key = `${p.dataset}/${p.arch}/${method}/${seed}`;
          if (trained.has(key)) continue;
          trained.add(key);
          newRuns.push({ dataset: p.dataset, arch: p.arch, method, config: p.config });
        }
      }
    return { notebook, pools: ps, newRuns };
  });
}
