/**
 * TRADES (Zhang et al. ICML 2019): L = CE(f(x), y) + β·mean KL(f(x) ‖ f(x')), where x' maximises
 * the KL (sign steps from x + 0.001·N(0,1)). β = 6 as in the paper's tables; the clean
 * distribution is not detached, as in the authors' code.
 */
import * as tf from '@tensorflow/tfjs';
import { PgdOptions } from '../attacks/pgd';
import { crossEntropy } from '../attacks/losses';
import { logits } from '../models/forward';
import { Objective } from './types';
import { PAPER_TRAIN_ATTACK } from './adversarial';
import { klFromNoise, klPerExample } from './kl';
import { validatePgd } from '../attacks/pgd';

export function trades(opts: { beta?: number; attack?: PgdOptions } = {}): Objective {
  const beta = opts.beta ?? 6;
  const attack = opts.attack ?? PAPER_TRAIN_ATTACK;
  validatePgd(attack);
  return {
    name: 'trades',
    config: { beta, attack },
    adversarial: (model, x, y, ctx) => klFromNoise(model, x, y, attack, ctx),
    loss(model, x, xAdv, y) {
      const z = logits(model, x, true);
      const zAdv = logits(model, xAdv as tf.Tensor, true);
      const ce = crossEntropy(z, y);
      const kl = tf.mean(klPerExample(z, zAdv)) as tf.Scalar;
      return { loss: tf.add(ce, tf.mul(kl, beta)) as tf.Scalar, parts: { ce_clean: ce, kl } };
    },
  };
}
