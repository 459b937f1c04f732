/** PGD-AT (Madry et al. 2018): min_θ E max_{‖δ‖∞≤ε} CE(f(x+δ), y). */
import * as tf from '@tensorflow/tfjs';
import { PgdOptions } from '../attacks/pgd';
import { crossEntropy } from '../attacks/losses';
import { logits } from '../models/forward';
import { Objective } from './types';
import { pgdMaker, trainingAttack } from './adversarial';

export interface PgdAtOptions {
  /** the training attack (default PGD-10 at the paper's threat model) */
  attack?: PgdOptions;
}

export function pgdAt(opts: PgdAtOptions = {}): Objective {
  const attack = trainingAttack(opts.attack);
  return {
    name: 'pgd-at',
    config: { attack },
    adversarial: pgdMaker(attack),
    loss(model, _x, xAdv, y) {
      const ce = crossEntropy(logits(model, xAdv as tf.Tensor, true), y);
      return { loss: ce, parts: { ce_adv: ce } };
    },
  };
}

/** Standard (non-adversarial) training: CE on clean inputs. */
export function standard(): Objective {
  return {
    name: 'standard',
    config: {},
    adversarial: () => null,
    loss(model, x, _xAdv, y) {
      const ce = crossEntropy(logits(model, x, true), y);
      return { loss: ce, parts: { ce_clean: ce } };
    },
  };
}
