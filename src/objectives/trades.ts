/**
 * TRADES (Zhang et al. ICML 2019): L = CE(f(x), y) + β·mean KL(f(x) ‖ f(x')), where x' maximises
 * the KL (sign steps from x + 0.001·N(0,1)). β = 6 as in the paper's tables; the clean
 * distribution is not detached, as in the authors' code.
 */
import * as tf from '@tensorflow/tfjs';
import { PgdOptions } from '../attacks/pgd';
import { crossEntropy } from '../attacks/losses';
import { Objective } from './types';
import { trainingAttack } from './adversarial';
import { cleanThenAdversarial, klFromNoise, klPerExample } from './kl';

export interface TradesOptions {
  /** weight of the KL term (default 6, the paper's tables) */
  beta?: number;
  /** the attack maximising the KL (default PGD-10 at the paper's threat model; its loss is the KL) */
  attack?: PgdOptions;
}

export function trades(opts: TradesOptions = {}): Objective {
  const beta = opts.beta ?? 6;
  const attack = trainingAttack(opts.attack);
  return {
    name: 'trades',
    config: { beta, attack },
    adversarial: (model, x, y, ctx) => klFromNoise(model, x, y, attack, ctx),
    loss(model, x, xAdv, y) {
      const { z, zAdv } = cleanThenAdversarial(model, x, xAdv);
      const ce = crossEntropy(z, y);
      const kl = tf.mean(klPerExample(z, zAdv)) as tf.Scalar;
      return { loss: tf.add(ce, tf.mul(kl, beta)) as tf.Scalar, parts: { ce_clean: ce, kl } };
    },
  };
}
