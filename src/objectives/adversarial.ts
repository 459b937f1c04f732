import * as tf from '@tensorflow/tfjs';
import { pgd, PgdOptions, validatePgd } from '../attacks/pgd';
import { ObjectiveContext } from './types';

// the paper's training attack is defined with the other threat models; objectives default to it
export { PAPER_TRAIN_ATTACK } from '../settings';

/** Checks the attack options once, then makes PGD batches seeded from the run's Rng. */
export function pgdMaker(attack: PgdOptions) {
  validatePgd(attack);
  return (model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, ctx: ObjectiveContext): tf.Tensor =>
    pgd(model, x, y, { ...attack, seed: ctx.rng.seed() });
}
