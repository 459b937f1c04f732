/**
 * Scale profiles. Each experiment keeps one table mapping a profile to its sizes; this module
 * only names and validates the profile.
 *   smoke: about 2 minutes a notebook, for CI
 *   quick: at most about 20 minutes a notebook on a 2-core CPU, embedded data
 *   overfit: long enough for robust overfitting to happen on the embedded data, with several seeds
 *            (the pool's tables and curves; a notebook trains 9–12 runs per seed on the
 *            embedded data)
 *   paper: the paper's settings (GPU scale)
 */
import * as path from 'path';
import { PACKAGE_ROOT } from '../util/paths';
import { oneOf } from '../util/errors';

export const PROFILES = ['smoke', 'quick', 'overfit', 'paper'] as const;
export type Profile = (typeof PROFILES)[number];
/** The profiles of experiments that have no overfit-specific setting (toy, landscape). */
export type BaseProfile = Exclude<Profile, 'overfit'>;

/** An experiment without its own overfit setting runs its quick one there. */
export function baseProfile(p: Profile): BaseProfile {
  return p === 'overfit' ? 'quick' : p;
}

/** The profile from PIAT_PROFILE (validated), or `fallback` when unset. */
export function profileFromEnv(fallback: Profile = 'quick', env: NodeJS.ProcessEnv = process.env): Profile {
  const v = env.PIAT_PROFILE?.trim();
  return v ? oneOf('profile (PIAT_PROFILE)', v, PROFILES) : fallback;
}

/** The repository root (from dist/src/experiments/ or, in a notebook, src/experiments/). */
export const PROJECT_ROOT = PACKAGE_ROOT;

/** The folder every experiment's runs go under: PIAT_RUNS, else runs/ in the repository; absolute. */
export function runsBase(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.PIAT_RUNS ?? path.join(PROJECT_ROOT, 'runs'));
}

/** Where an experiment's runs are cached: runs/<experiment>/<profile>/ (PIAT_RUNS overrides runs/). */
export function runRoot(experiment: string, profile: Profile, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(runsBase(env), experiment, profile);
}

/** What a pool table's numbers are at a profile, for the notebooks' summaries (empty at `paper`). */
export function scaleNote(p: Profile): string {
  if (p === 'paper') return '';
  if (p === 'overfit')
    return " (TRADES' CNN with batch norm on 500 Fashion-MNIST images at ε = 0.1, 120 epochs: a small-scale check, not the paper's numbers.)";
  return " (Small CNN on Fashion-MNIST at ε = 0.1 with few epochs: a qualitative check, not the paper's numbers.)";
}
