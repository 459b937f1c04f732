/**
 * MAIL (Wang, Liu et al. NeurIPS 2021): instance reweighting by the probabilistic margin
 * PM = p_{2nd}(x') − p_y(x') (largest wrong-class minus true-class probability on the adversarial
 * example), w = 3·sigmoid(slope·(PM + bias)), detached. Defaults from the authors' code: bias
 * −1.5, slope 1, β = 5 for the TRADES/MART variants. The reweighting starts after a burn-in of
 * `burnInEpochs` epochs (0-based epoch index ≥ burnInEpochs) in which w = 1, i.e. the base method
 * itself (the authors resume MAIL from epoch 75 of 120; the method tables scale that to their run:
 * experiments/methods.ts, MAIL_BURN_IN_FRACTION). Each epoch record says which it was:
 * `mailReweighting` 1 (weighted) or 0 (burn-in).
 *   base 'pgd-at': mean w·CE(f(x'), y)
 *   base 'trades': CE(f(x), y) + β·mean w·KL(f(x) ‖ f(x'))
 *   base 'mart':   mean w·BCE + β·mean KL·(1 − p_y(x))
 */
import * as tf from '@tensorflow/tfjs';
import { PgdOptions } from '../attacks/pgd';
import { crossEntropy, crossEntropyPerExample } from '../attacks/losses';
import { logits } from '../models/forward';
import { LossResult, Objective } from './types';
import { trainingAttack } from './adversarial';
import { ceFromNoise, klFromNoise, klPerExample, maxWrongProb, trueProb } from './kl';
import { martTerms } from './mart';
import { oneOf } from '../util/errors';

export interface MailOptions {
  /** the base objective by its registry name ('at', its former name, is read as 'pgd-at') */
  base?: 'pgd-at' | 'trades' | 'mart' | 'at';
  bias?: number;
  slope?: number;
  beta?: number;
  /** epochs of the base method before the reweighting starts (default 0 here; the method tables use 75/120 of the run) */
  burnInEpochs?: number;
  attack?: PgdOptions;
}

/** MAIL's instance weights from adversarial logits (no gradient flows through them). */
export function mailWeights(zAdv: tf.Tensor2D, y: tf.Tensor1D, bias: number, slope: number): tf.Tensor1D {
  return tf.tidy(() => {
    const pm = tf.sub(maxWrongProb(zAdv, y), trueProb(zAdv, y));
    // computed from values, not from the graph: the weights carry no gradient (detached, as in the authors' code)
    const w = tf.mul(tf.sigmoid(tf.mul(tf.add(pm, bias), slope)), 3);
    return tf.tensor1d(w.dataSync() as Float32Array);
  });
}

export function mail(opts: MailOptions = {}): Objective {
  const base = oneOf('MAIL base', opts.base === 'at' ? 'pgd-at' : (opts.base ?? 'pgd-at'), ['pgd-at', 'trades', 'mart'] as const);
  const bias = opts.bias ?? -1.5;
  const slope = opts.slope ?? 1;
  const beta = opts.beta ?? 5;
  const burnIn = opts.burnInEpochs ?? 0;
  const attack = trainingAttack(opts.attack);
  const reweighting = (epoch: number) => epoch >= burnIn;
  return {
    name: `mail-${base}`,
    config: { base, bias, slope, beta, burnInEpochs: burnIn, attack },
    adversarial: (model, x, y, ctx) => (base === 'trades' ? klFromNoise : ceFromNoise)(model, x, y, attack, ctx),
    loss(model, x, xAdv, y, ctx): LossResult {
      const zAdv = logits(model, xAdv as tf.Tensor, true);
      const w = reweighting(ctx.epoch) ? mailWeights(zAdv, y, bias, slope) : tf.onesLike(y).asType('float32');
      if (base === 'pgd-at') {
        const loss = tf.mean(tf.mul(crossEntropyPerExample(zAdv, y), w)) as tf.Scalar;
        return { loss, parts: { ce_adv_weighted: loss, mean_weight: tf.mean(w) as tf.Scalar } };
      }
      const z = logits(model, x, true);
      if (base === 'trades') {
        const ce = crossEntropy(z, y);
        const kl = tf.mean(tf.mul(klPerExample(z, zAdv), w)) as tf.Scalar;
        return {
          loss: tf.add(ce, tf.mul(kl, beta)) as tf.Scalar,
          parts: { ce_clean: ce, kl_weighted: kl, mean_weight: tf.mean(w) as tf.Scalar },
        };
      }
      const { bce, kl } = martTerms(z, zAdv, y);
      const bceW = tf.mean(tf.mul(bce, w)) as tf.Scalar;
      const klMean = tf.mean(kl) as tf.Scalar;
      return {
        loss: tf.add(bceW, tf.mul(klMean, beta)) as tf.Scalar,
        parts: { bce_adv_weighted: bceW, kl_weighted: klMean, mean_weight: tf.mean(w) as tf.Scalar },
      };
    },
    // the epoch record of the epoch that just ran says whether its losses were reweighted
    onEpochEnd: (epoch) => ({ mailReweighting: reweighting(epoch) ? 1 : 0 }),
  };
}
