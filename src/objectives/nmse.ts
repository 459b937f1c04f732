/**
 * NMSE, the paper's normalised mean squared error (Eq. 11, 12, as reconstructed in docs/METHOD.md, "Objectives"; tags there):
 *   NMSE_i = w_i · ‖ z_i/‖z_i‖₂ − z'_i/‖z'_i‖₂ ‖₂²,  w_i = 1 − softmax(z_i)_{y_i}
 * with z = f(x) clean logits, z' = f(x') adversarial logits; w is not detached (PORT).
 *   L = CE(f(x'), y) + λ·mean_i NMSE_i,  λ = 4 (PORT).
 * The paper's text puts adversarial CE in the total loss, the port clean CE: `ce` selects it.
 *
 * `reduction` over the K classes: 'sum' (default) is the squared L2 distance above, as the
 * authors' code computes it; 'mean' divides it by K, the literal "mean square error" of the text.
 * They differ by a factor K in what λ means; the default is 'sum' because λ = 4 was tuned with it
 * (with 'mean' on 10 classes λ = 4 would be a 10× weaker regulariser than the paper's runs had).
 */
import * as tf from '@tensorflow/tfjs';
import { PgdOptions } from '../attacks/pgd';
import { crossEntropy } from '../attacks/losses';
import { logits } from '../models/forward';
import { Objective } from './types';
import { pgdMaker, trainingAttack } from './adversarial';
import { oneOf } from '../util/errors';

/** Per-example NMSE between clean logits z and adversarial logits zAdv, shape [n]. */
export function nmsePerExample(z: tf.Tensor2D, zAdv: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const unit = (t: tf.Tensor2D) => tf.div(t, tf.add(tf.norm(t, 2, 1, true), 1e-12));
    const dist = tf.sum(tf.square(tf.sub(unit(z), unit(zAdv))), 1);
    const pTrue = tf.sum(tf.mul(tf.softmax(z), tf.oneHot(labels, z.shape[1])), 1);
    return tf.mul(tf.sub(1, pTrue), dist) as tf.Tensor1D;
  });
}

export const NMSE_REDUCTIONS = ['sum', 'mean'] as const;
export type NmseReduction = (typeof NMSE_REDUCTIONS)[number];

export interface NmseOptions {
  /** weight of the NMSE term (default 4, the paper's) */
  lambda?: number;
  /** which logits the cross-entropy term sees (default adversarial, as the paper's text says) */
  ce?: 'adversarial' | 'clean';
  /** over the K classes: 'sum' = squared L2 distance (default, the authors' code), 'mean' = that ÷ K */
  reduction?: NmseReduction;
  attack?: PgdOptions;
}

/** The batch's NMSE term: the mean over examples of nmsePerExample, summed or averaged over classes. */
export function nmseTerm(z: tf.Tensor2D, zAdv: tf.Tensor2D, labels: tf.Tensor1D, reduction: NmseReduction = 'sum'): tf.Scalar {
  return tf.tidy(() => {
    const m = tf.mean(nmsePerExample(z, zAdv, labels)) as tf.Scalar;
    return reduction === 'mean' ? (tf.div(m, z.shape[1]) as tf.Scalar) : m;
  });
}

export function nmse(opts: NmseOptions = {}): Objective {
  const lambda = opts.lambda ?? 4;
  const ceOn = oneOf('NMSE ce', opts.ce ?? 'adversarial', ['adversarial', 'clean'] as const);
  const reduction = oneOf('NMSE reduction', opts.reduction ?? 'sum', NMSE_REDUCTIONS);
  const attack = trainingAttack(opts.attack);
  return {
    name: 'nmse',
    // reduction is recorded only when not the default: run folders from before it existed keep their identity
    config: { lambda, ce: ceOn, attack, ...(reduction === 'sum' ? {} : { reduction }) },
    adversarial: pgdMaker(attack),
    loss(model, x, xAdv, y) {
      const zAdv = logits(model, xAdv as tf.Tensor, true);
      const z = logits(model, x, true);
      const ce = crossEntropy(ceOn === 'adversarial' ? zAdv : z, y);
      const reg = nmseTerm(z, zAdv, y, reduction);
      return {
        loss: tf.add(ce, tf.mul(reg, lambda)) as tf.Scalar,
        parts: { [ceOn === 'adversarial' ? 'ce_adv' : 'ce_clean']: ce, nmse: reg },
      };
    },
  };
}
