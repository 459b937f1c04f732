/**
 * MART (Wang et al. ICLR 2020), as the authors' code computes it:
 *   BCE(f(x'), y) = CE(f(x'), y) − log(1.0001 − p_{ŷ}(x')), ŷ the most likely wrong class
 *   L = mean BCE + λ·mean_i KL(f(x_i) ‖ f(x'_i))·(1.0000001 − p_y(x_i)),  λ = 6
 * The adversarial batch is PGD on CE from x + 0.001·N(0,1).
 */
import * as tf from '@tensorflow/tfjs';
import { PgdOptions } from '../attacks/pgd';
import { crossEntropyPerExample } from '../attacks/losses';
import { Objective } from './types';
import { trainingAttack } from './adversarial';
import { ceFromNoise, cleanThenAdversarial, klPerExample, maxWrongProb, trueProb } from './kl';

/** MART's per-example terms: boosted CE on x' and the misclassification-weighted KL. */
export function martTerms(z: tf.Tensor2D, zAdv: tf.Tensor2D, y: tf.Tensor1D): { bce: tf.Tensor1D; kl: tf.Tensor1D } {
  return tf.tidy(() => {
    const boost = tf.neg(tf.log(tf.add(tf.sub(1.0001, maxWrongProb(zAdv, y)), 1e-12)));
    const bce = tf.add(crossEntropyPerExample(zAdv, y), boost) as tf.Tensor1D;
    const kl = tf.mul(klPerExample(z, zAdv), tf.sub(1.0000001, trueProb(z, y))) as tf.Tensor1D;
    return { bce, kl };
  });
}

export interface MartOptions {
  /** weight of the misclassification-weighted KL term (default 6, the authors') */
  lambda?: number;
  /** the training attack, started from x + 0.001·N(0, 1) (default PGD-10 at the paper's threat model) */
  attack?: PgdOptions;
}

export function mart(opts: MartOptions = {}): Objective {
  const lambda = opts.lambda ?? 6;
  const attack = trainingAttack(opts.attack);
  return {
    name: 'mart',
    config: { lambda, attack },
    adversarial: (model, x, y, ctx) => ceFromNoise(model, x, y, attack, ctx),
    loss(model, x, xAdv, y) {
      const { z, zAdv } = cleanThenAdversarial(model, x, xAdv);
      const { bce, kl } = martTerms(z, zAdv, y);
      const bceMean = tf.mean(bce) as tf.Scalar;
      const klMean = tf.mean(kl) as tf.Scalar;
      return { loss: tf.add(bceMean, tf.mul(klMean, lambda)) as tf.Scalar, parts: { bce_adv: bceMean, kl_weighted: klMean } };
    },
  };
}
