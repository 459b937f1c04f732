/**
 * Writes the overfit profile's missing runs as jobs for a GPU machine (bench/gpu/overfit-runs.sh):
 * notebook 07's and 10's pool runs (PIAT_PAIRS_METHODS and Fig. 9's fixed β, every seed; those
 * already finished under runs/ here are left out) as `pool-task` job files, and the overfitting
 * search's settings as `overfit-search` calls. Each line of jobs.txt is one CLI call's arguments;
 * the GPU machine runs them side by side. The runs land under RUNS_BASE there (runs-base.txt) and
 * come back here as archives (bench/gpu/overfit-unpack.sh); evaluated.txt lists the runs, relative
 * to it, whose jobs also evaluate them (bench/gpu/pack_runs.py packs those once evaluated). A run
 * finished here, or being trained here (its run.lock), is left out.
 *
 * usage: node dist/bench/gpu/overfit-jobs.js OUT_DIR [--search a,b,…] [--search-seeds 1,2,3] [--profile-seeds 4,5]
 */
import * as fs from 'fs';
import * as path from 'path';
import { betaMethod, FIG9_BETAS } from '../../src/experiments/sweeps';
import { PIAT_PAIRS_METHODS } from '../../src/experiments/piat-tables';
import { poolConfig, poolJobs, poolSeeds } from '../../src/experiments/pool';
import { runsBase } from '../../src/experiments/profiles';
import { OVERFIT_SETTING, SEARCH_SETTINGS } from '../../src/experiments/overfit-search';

/** Where the runs go on the GPU machine (absolute: pool jobs name it). */
export const RUNS_BASE = '/tmp/piat-gpu-runs';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const list = (s: string | undefined) => (s ? s.split(',').filter(Boolean) : []);

function main(): void {
  const out = process.argv[2];
  if (!out || out.startsWith('--'))
    throw new Error('usage: overfit-jobs.js OUT_DIR [--search a,b] [--search-seeds 1,2,3] [--profile-seeds 4,5]');
  fs.mkdirSync(path.join(out, 'jobs'), { recursive: true });
  const lines: string[] = [];
  const evaluated: string[] = [];
  const c = poolConfig('overfit');
  const seeds = poolSeeds(c);
  const jobs = [
    // Fig. 6 (notebook 07) reports each run's Best and Final under the final attacks
    ...poolJobs('overfit', c, PIAT_PAIRS_METHODS, { seeds, runsBase: RUNS_BASE, evaluate: true }),
    // Fig. 9 (notebook 10) reads the per-epoch curves only
    ...poolJobs('overfit', c, FIG9_BETAS.map(betaMethod), { seeds, runsBase: RUNS_BASE }),
  ];
  for (const { runDir, job } of jobs) {
    if (['done.json', 'run.lock'].some((f) => fs.existsSync(path.join(runDir, f)))) continue;
    if (job.evaluate) evaluated.push(path.relative(runsBase(), path.resolve(runDir)));
    const file = `jobs/${path.basename(runDir)}-seed-${(job.pool as { seed: number }).seed}.json`;
    fs.writeFileSync(path.join(out, file), JSON.stringify(job, null, 1));
    lines.push(`pool-task ${path.join(out, file)}`);
  }
  const known = new Set(SEARCH_SETTINGS.map((s) => s.name));
  for (const name of list(flag('search'))) {
    if (!known.has(name)) throw new Error(`unknown search setting ${name}`);
    for (const seed of list(flag('search-seeds') ?? '1,2,3'))
      lines.push(`overfit-search --profile overfit --settings ${name} --seeds ${seed}`);
  }
  // more seeds of the profile's own setting: how often does it meet the criterion?
  for (const seed of list(flag('profile-seeds')))
    lines.push(`overfit-search --profile overfit --settings ${OVERFIT_SETTING} --seeds ${seed}`);
  fs.writeFileSync(path.join(out, 'jobs.txt'), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(out, 'evaluated.txt'), evaluated.join('\n') + '\n');
  fs.writeFileSync(path.join(out, 'runs-base.txt'), RUNS_BASE + '\n');
  console.log(`${lines.length} jobs → ${path.join(out, 'jobs.txt')}`);
}

main();
