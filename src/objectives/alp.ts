/**
 * ALP, adversarial logit pairing (Kannan et al. 2018), as the paper's Eq. 8:
 * L = CE(f(x'), y) + λ·mean_i ‖f(x_i) − f(x'_i)‖₂².
 * λ is not given in the paper's text; default 1.0 is CHOSEN (an option; docs/METHOD.md, "Objectives").
 */
import * as tf from '@tensorflow/tfjs';
import { PgdOptions } from '../attacks/pgd';
import { crossEntropy } from '../attacks/losses';
import { logits } from '../models/forward';
import { Objective } from './types';
import { pgdMaker, trainingAttack } from './adversarial';

export interface AlpOptions {
  /** weight of the logit pairing term (default 1, CHOSEN) */
  lambda?: number;
  /** the training attack (default PGD-10 at the paper's threat model) */
  attack?: PgdOptions;
}

export function alp(opts: AlpOptions = {}): Objective {
  const lambda = opts.lambda ?? 1.0;
  const attack = trainingAttack(opts.attack);
  return {
    name: 'alp',
    config: { lambda, attack },
    adversarial: pgdMaker(attack),
    loss(model, x, xAdv, y) {
      const zAdv = logits(model, xAdv as tf.Tensor, true);
      const z = logits(model, x, true);
      const ce = crossEntropy(zAdv, y);
      const pair = tf.mean(tf.sum(tf.square(tf.sub(z, zAdv)), 1)) as tf.Scalar;
      return { loss: tf.add(ce, tf.mul(pair, lambda)) as tf.Scalar, parts: { ce_adv: ce, alp: pair } };
    },
  };
}
