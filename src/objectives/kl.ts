/** Pieces shared by TRADES, MART and MAIL. */
import * as tf from '@tensorflow/tfjs';
import { pgd, PgdOptions } from '../attacks/pgd';
import { logits } from '../models/forward';
import { ObjectiveContext } from './types';
import { klPerExample } from '../attacks/losses';
import { randomNormal } from '../attacks/random';

// the KL lives with the attack losses (A&P's attack maximises it); TRADES, MART, MAIL, CFA and RAT take it from here
export { klPerExample };

/**
 * Clean and adversarial logits in training mode, clean first (TRADES, MART and RAT's order: with
 * batch norm the order decides which batch updates the running statistics last).
 */
export function cleanThenAdversarial(model: tf.LayersModel, x: tf.Tensor, xAdv: tf.Tensor | null): { z: tf.Tensor2D; zAdv: tf.Tensor2D } {
  const z = logits(model, x, true);
  return { z, zAdv: logits(model, xAdv as tf.Tensor, true) };
}

/** Probability of the true class, per example. */
export function trueProb(z: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(tf.softmax(z), tf.oneHot(y, z.shape[1])), 1) as tf.Tensor1D);
}

/** Largest probability among the wrong classes, per example. */
export function maxWrongProb(z: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const onehot = tf.oneHot(y, z.shape[1]);
    return tf.max(tf.sub(tf.softmax(z), tf.mul(onehot, 2)), 1) as tf.Tensor1D;
  });
}

/** x + 0.001·N(0, 1): the start TRADES, MART and MAIL use instead of PGD's uniform one. */
export function smallNoiseStart(x: tf.Tensor, ctx: ObjectiveContext): tf.Tensor {
  return tf.tidy(() => tf.add(x, randomNormal(x.shape, 0, 0.001, ctx.rng.seed())));
}

/** PGD on CE from the small-noise start (MART's and MAIL's inner maximisation). */
export function ceFromNoise(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, attack: PgdOptions, ctx: ObjectiveContext): tf.Tensor {
  const start = smallNoiseStart(x, ctx);
  const out = pgd(model, x, y, { ...attack, start });
  start.dispose();
  return out;
}

/** PGD maximising KL(f(x) ‖ f(x')) from the small-noise start (TRADES's inner maximisation). */
export function klFromNoise(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, attack: PgdOptions, ctx: ObjectiveContext): tf.Tensor {
  const zClean = tf.tidy(() => logits(model, x, false));
  const start = smallNoiseStart(x, ctx);
  const out = pgd(model, x, y, { ...attack, start, loss: (z) => klPerExample(zClean, z) });
  tf.dispose([zClean, start]);
  return out;
}
