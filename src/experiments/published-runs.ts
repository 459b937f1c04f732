/**
 * Which runs the project publishes, and where: every run of runs/X/ that the results render is
 * committed as results/X/ (results.ts). Each entry says how the run trains, so that it can be
 * collected, rendered and re-trained (`results --verify`, verify-results.ts).
 */
import * as path from 'path';
import { PROJECT_ROOT, runsBase } from './profiles';
import { SEARCH_SETTINGS, searchConfig, searchRunDir } from './overfit-search';
import { PoolConfig, PoolMethod, poolRoot } from './pool';
import { fig1Config, FIG1_METHODS } from './fig1';
import { runDirName } from './compare-methods';
import { betaMethod, FIG9_BETAS } from './sweeps';
import { methodLabel } from './methods';
import { PiatError } from '../util/errors';

export const RESULTS_DIR = path.join(PROJECT_ROOT, 'results');

/** Seeds looked for in results/ (and collected from runs/). */
export const SEEDS = Array.from({ length: 10 }, (_, i) => i + 1);

/**
 * Table I's methods that the overfit pool trains (notebooks 02, 03 and 07 at overfit), each compared
 * with PGD-AT on the seeds both have.
 */
export const VERSUS_PGD_AT = ['TRADES', 'MART', 'PIAT', 'NMSE', 'PIAT+NMSE', 'MAIL'] as const;

/** Fig. 6's frameworks beyond PGD-AT (notebook 07 at overfit), each compared with PIAT around it. */
export const PIAT_FRAMEWORKS = ['ALP', 'TRADES', 'MART', 'MAIL'] as const;

/** Fig. 9 (notebook 10): PIAT+NMSE with each fixed β (the dynamic β is the plain PIAT+NMSE run). */
const FIG9_FIXED_METHODS = FIG9_BETAS.map((b) => betaMethod(b));
/** Their labels, as their runs are named. */
export const FIG9_FIXED = FIG9_FIXED_METHODS.map((m) => methodLabel(m.name, m.variant));

/** A run folder's place under results/: the same path as under runs/ (PIAT_RUNS). */
export function resultDirOf(runDir: string, resultsDir = RESULTS_DIR): string {
  const rel = path.relative(runsBase(), runDir);
  if (rel.startsWith('..') || path.isAbsolute(rel))
    throw new PiatError('bad-value', `${runDir} is not under the runs folder ${runsBase()}`);
  return path.join(resultsDir, rel);
}

export interface PublishedRun {
  /** its folder under runs/ */
  runDir: string;
  /** the settings it trains under (at the overfit profile) */
  config: PoolConfig;
  method: PoolMethod;
  /** the method's label (its run folder's name) */
  label: string;
  /** the overfitting search's setting, for the search's runs */
  setting?: string;
}

/** The run folders whose results are published: the search's settings and the overfit pool's methods, every seed. */
export function publishedRuns(): PublishedRun[] {
  const search = SEARCH_SETTINGS.flatMap((s) =>
    SEEDS.map((seed) => ({
      runDir: searchRunDir('overfit', s.name, seed),
      config: searchConfig('overfit', s, seed),
      method: { name: 'PGD-AT' },
      label: 'PGD-AT',
      setting: s.name,
    })),
  );
  const c = fig1Config('overfit');
  const methods: PoolMethod[] = [
    ...[...FIG1_METHODS, ...VERSUS_PGD_AT, ...PIAT_FRAMEWORKS.flatMap((b) => [b, `PIAT+${b}`])].map((name) => ({ name })),
    ...FIG9_FIXED_METHODS,
  ];
  const pool = SEEDS.flatMap((seed) =>
    methods.map((method) => {
      const label = methodLabel(method.name, method.variant);
      return { runDir: path.join(poolRoot('overfit', { ...c, seed }), runDirName(label)), config: { ...c, seed }, method, label };
    }),
  );
  // the profile's PGD-AT is also a search setting's run: one entry per folder
  const seen = new Set<string>();
  return [...search, ...pool].filter((r) => !seen.has(r.runDir) && seen.add(r.runDir));
}
