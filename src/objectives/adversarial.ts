import * as tf from '@tensorflow/tfjs';
import { pgd, PgdOptions, validatePgd } from '../attacks/pgd';
import { ObjectiveContext } from './types';

/** The paper's training attack: PGD-10, ε = 8/255, α = 2/255, random start. */
export const PAPER_TRAIN_ATTACK: PgdOptions = { eps: 8 / 255, alpha: 2 / 255, steps: 10, randomStart: true };

/** Checks the attack options once, then makes PGD batches seeded from the run's Rng. */
export function pgdMaker(attack: PgdOptions) {
  validatePgd(attack);
  return (model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, ctx: ObjectiveContext): tf.Tensor =>
    pgd(model, x, y, { ...attack, seed: ctx.rng.seed() });
}
