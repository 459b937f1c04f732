/**
 * NMSE, the paper's normalised mean squared error (Eq. 11, 12; reconstruction in PAPER-NOTES):
 *   NMSE_i = w_i · ‖ z_i/‖z_i‖₂ − z'_i/‖z'_i‖₂ ‖₂²,  w_i = 1 − softmax(z_i)_{y_i}
 * with z = f(x) clean logits, z' = f(x') adversarial logits; w is not detached (PORT).
 *   L = CE(f(x'), y) + λ·mean_i NMSE_i,  λ = 4 (PORT).
 * The paper's text puts adversarial CE in the total loss, the port clean CE: `ce` selects it.
 */
import * as tf from '@tensorflow/tfjs';
import { PgdOptions } from '../attacks/pgd';
import { crossEntropy } from '../attacks/losses';
import { logits } from '../models/forward';
import { Objective } from './types';
import { PAPER_TRAIN_ATTACK, pgdMaker } from './adversarial';

/** Per-example NMSE between clean logits z and adversarial logits zAdv, shape [n]. */
export function nmsePerExample(z: tf.Tensor2D, zAdv: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const unit = (t: tf.Tensor2D) => tf.div(t, tf.add(tf.norm(t, 2, 1, true), 1e-12));
    const dist = tf.sum(tf.square(tf.sub(unit(z), unit(zAdv))), 1);
    const pTrue = tf.sum(tf.mul(tf.softmax(z), tf.oneHot(labels, z.shape[1])), 1);
    return tf.mul(tf.sub(1, pTrue), dist) as tf.Tensor1D;
  });
}

export function nmse(opts: { lambda?: number; ce?: 'adversarial' | 'clean'; attack?: PgdOptions } = {}): Objective {
  const lambda = opts.lambda ?? 4;
  const ceOn = opts.ce ?? 'adversarial';
  const attack = opts.attack ?? PAPER_TRAIN_ATTACK;
  return {
    name: 'nmse',
    config: { lambda, ce: ceOn, attack },
    adversarial: pgdMaker(attack),
    loss(model, x, xAdv, y) {
      const zAdv = logits(model, xAdv as tf.Tensor, true);
      const z = logits(model, x, true);
      const ce = crossEntropy(ceOn === 'adversarial' ? zAdv : z, y);
      const reg = tf.mean(nmsePerExample(z, zAdv, y)) as tf.Scalar;
      return {
        loss: tf.add(ce, tf.mul(reg, lambda)) as tf.Scalar,
        parts: { [ceOn === 'adversarial' ? 'ce_adv' : 'ce_clean']: ce, nmse: reg },
      };
    },
  };
}
