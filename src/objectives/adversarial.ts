import * as tf from '@tensorflow/tfjs';
import { pgd, PgdOptions, validatePgd } from '../attacks/pgd';
import { ObjectiveContext } from './types';

import { PAPER_TRAIN_ATTACK } from '../settings';

// the paper's training attack is defined with the other threat models; objectives default to it
export { PAPER_TRAIN_ATTACK };

/** An objective's training attack: the one given, checked, or the paper's PGD-10. */
export function trainingAttack(attack?: PgdOptions): PgdOptions {
  const a = attack ?? PAPER_TRAIN_ATTACK;
  validatePgd(a);
  return a;
}

/** Checks the attack options once, then makes PGD batches seeded from the run's Rng. */
export function pgdMaker(attack: PgdOptions) {
  validatePgd(attack);
  return (model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, ctx: ObjectiveContext): tf.Tensor =>
    pgd(model, x, y, { ...attack, seed: ctx.rng.seed() });
}
