/**
 * The per-profile recipes of the experiments outside the shared pool (pool.ts keeps the pool's,
 * Fig. 1 included), in one place: each a table from profile to sizes and training settings, built
 * on the threat models of src/settings.ts. Values the paper does not give are CHOSEN (docs/METHOD.md says why).
 */
import { TwoCirclesOptions, TWO_CIRCLES_DEFAULTS } from '../data/toy';
import { PgdOptions } from '../attacks/pgd';
import { TOY_EPS } from '../settings';
import { BaseProfile, baseProfile, Profile } from './profiles';

/** The recipe of a table at a profile; a table without an overfit entry runs its quick one there. */
export function recipe<T>(table: Record<BaseProfile, T> & Partial<Record<Profile, T>>, profile: Profile): T {
  return table[profile] ?? table[baseProfile(profile)];
}

// ---- notebook 01: the toy example (Sec. III-A) ------------------------------------------------

export interface ToyConfig {
  /** training examples per class, test examples per class */
  trainPerClass: number;
  testPerClass: number;
  data: Omit<TwoCirclesOptions, 'perClass' | 'seed'>;
  hidden: number;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  /** training attack (PGD) */
  attack: PgdOptions;
  /** evaluation attack (PGD-20) */
  evalAttack: PgdOptions;
  /** ALP's λ and NMSE's λ */
  alpLambda: number;
  nmseLambda: number;
  seed: number;
}

/** SGD, momentum 0.9, LR 0.5, 50 epochs are READ; data, ε, step and PGD steps are CHOSEN (docs/METHOD.md, "The toy example"). */
const TOY_BASE: ToyConfig = {
  trainPerClass: 500,
  testPerClass: 500,
  data: TWO_CIRCLES_DEFAULTS,
  hidden: 64,
  epochs: 50,
  batchSize: 100,
  lr: 0.5,
  momentum: 0.9,
  attack: { eps: TOY_EPS, alpha: TOY_EPS / 4, steps: 10, randomStart: true },
  evalAttack: { eps: TOY_EPS, alpha: TOY_EPS / 4, steps: 20, randomStart: true },
  alpLambda: 1,
  nmseLambda: 4,
  seed: 3,
};

/** The toy example's scale per profile. The toy is small, so quick already runs the paper's 50 epochs. */
export const TOY_PROFILES: Record<BaseProfile, ToyConfig> = {
  smoke: { ...TOY_BASE, trainPerClass: 100, testPerClass: 100, epochs: 6, hidden: 16 },
  quick: TOY_BASE,
  paper: { ...TOY_BASE, trainPerClass: 1000, testPerClass: 1000 },
};

// ---- notebook 09: loss landscape (Fig. 8) -----------------------------------------------------

export interface LandscapeConfig {
  /** test images in the batch */
  n: number;
  resolution: number;
  range: number;
  seed: number;
}

export const LANDSCAPE_PROFILES: Record<BaseProfile, LandscapeConfig> = {
  smoke: { n: 16, resolution: 5, range: 1, seed: 0 },
  quick: { n: 64, resolution: 11, range: 1, seed: 0 },
  paper: { n: 500, resolution: 21, range: 1, seed: 0 },
};
