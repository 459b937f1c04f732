/**
 * CFA (Wei, Wang, Guo, Wang, CVPR 2023): class-wise calibrated fair adversarial training.
 * Defaults follow the authors' code (PKU-ML/CFA, train.py: --mode TRADES --ccm --ccr).
 *
 *   CCM (class-wise calibrated margin): ε_k = (λ1 + A_k)·ε, where A_k is the robust accuracy of
 *        class k on the training adversarial examples of the previous epoch (λ1 = 0.5).
 *   CCR (class-wise calibrated regularisation, TRADES base): per example
 *        (1 − b_y)·CE(f(x), y) + b_y·KL(f(x) ‖ f(x')),  b_k = (λ2 + A_k)·β / (1 + (λ2 + A_k)·β)
 *        (λ2 = 0.5, β = 6); before calibration b = β / (1 + β), i.e. TRADES scaled by 1/(1 + β),
 *        as in the authors' code.
 *   base 'pgd-at': CE(f(x'), y) with x' from PGD at ε_y.
 * Calibration starts at `beginEpoch` (authors: 10). FAWA, the fairness-aware weight averaging
 * CFA evaluates, is the separate hook `fawa()` (src/averaging/fawa.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { pgd, PgdOptions } from '../attacks/pgd';
import { crossEntropyPerExample } from '../attacks/losses';
import { logits } from '../models/forward';
import { oneOf, PiatError } from '../util/errors';
import { LossResult, Objective } from './types';
import { trainingAttack } from './adversarial';
import { klFromNoise, klPerExample } from './kl';
import { tidyValues } from '../util/tensors';

export interface CfaOptions {
  /** the base objective by its registry name ('at', its former name, is read as 'pgd-at') */
  base?: 'trades' | 'pgd-at' | 'at';
  /** class-wise calibrated ε (CCM; default true) */
  ccm?: boolean;
  /** class-wise calibrated TRADES weight (CCR; default true, TRADES base only) */
  ccr?: boolean;
  lambda1?: number;
  lambda2?: number;
  /** TRADES β (default 6) */
  beta?: number;
  /** first epoch (0-based) with calibrated ε and β (default 10) */
  beginEpoch?: number;
  numClasses?: number;
  attack?: PgdOptions;
}

export function cfa(opts: CfaOptions = {}): Objective {
  const base = oneOf('CFA base', opts.base === 'pgd-at' ? 'pgd-at' : (opts.base ?? 'trades'), ['trades', 'pgd-at'] as const);
  const ccm = opts.ccm ?? true;
  const ccr = (opts.ccr ?? true) && base === 'trades';
  const lambda1 = opts.lambda1 ?? 0.5;
  const lambda2 = opts.lambda2 ?? 0.5;
  const beta = opts.beta ?? 6;
  const beginEpoch = opts.beginEpoch ?? 10;
  const numClasses = opts.numClasses ?? 10;
  const attack = trainingAttack(opts.attack);
  for (const [k, v] of Object.entries({ lambda1, lambda2, beta }))
    if (!(Number.isFinite(v) && v >= 0)) throw new PiatError('bad-option', `CFA option '${k}' must be a number >= 0, got ${v}`);

  // class-wise robust accuracy of the last finished epoch (null before the first), and this epoch's counts
  let classRobust: number[] | null = null;
  let correct = new Array<number>(numClasses).fill(0);
  let seen = new Array<number>(numClasses).fill(0);
  const calibrated = (epoch: number) => classRobust !== null && epoch >= beginEpoch;
  const classEps = (epoch: number) => (ccm && calibrated(epoch) ? (classRobust as number[]).map((a) => (lambda1 + a) * attack.eps) : null);
  const classWeight = (epoch: number) =>
    (classRobust ?? new Array(numClasses).fill(0)).map((a) => {
      const b = ccr && calibrated(epoch) ? (lambda2 + a) * beta : beta;
      return b / (1 + b);
    });

  return {
    name: `cfa-${base}`,
    config: { base, ccm, ccr, lambda1, lambda2, beta, beginEpoch, numClasses, attack },
    adversarial(model, x, y, ctx) {
      const eps = classEps(ctx.epoch);
      const labels = y.dataSync();
      if (Array.from(labels).some((l) => l >= numClasses))
        throw new PiatError('bad-input', `CFA was set up for ${numClasses} classes but got label ${Math.max(...labels)}; pass numClasses`);
      const epsPerExample = eps ? tf.tensor1d(Array.from(labels, (l) => eps[l])) : undefined;
      // at the class's ε: PGD for base 'pgd-at', TRADES's KL from a small-noise start otherwise
      const out =
        base === 'pgd-at'
          ? pgd(model, x, y, { ...attack, epsPerExample, seed: ctx.rng.seed() })
          : klFromNoise(model, x, y, { ...attack, epsPerExample }, ctx);
      epsPerExample?.dispose();
      return out;
    },
    loss(model, x, xAdv, y, ctx): LossResult {
      const zAdv = logits(model, xAdv as tf.Tensor, true);
      // class-wise robust accuracy on the training adversarial examples (training-mode output, as the authors log it)
      const [pred] = tidyValues(() => [tf.argMax(zAdv, 1)]);
      y.dataSync().forEach((l, i) => {
        seen[l]++;
        if (pred[i] === l) correct[l]++;
      });
      if (base === 'pgd-at') {
        const ce = tf.mean(crossEntropyPerExample(zAdv, y)) as tf.Scalar;
        return { loss: ce, parts: { ce_adv: ce } };
      }
      const z = logits(model, x, true);
      const w = tf.gather(tf.tensor1d(classWeight(ctx.epoch)), y);
      const ce = crossEntropyPerExample(z, y);
      const kl = klPerExample(z, zAdv);
      const loss = tf.mean(tf.add(tf.mul(tf.sub(1, w), ce), tf.mul(w, kl))) as tf.Scalar;
      return { loss, parts: { ce_clean: tf.mean(ce) as tf.Scalar, kl: tf.mean(kl) as tf.Scalar, mean_beta: tf.mean(w) as tf.Scalar } };
    },
    onEpochEnd(epoch) {
      classRobust = correct.map((c, k) => (seen[k] ? c / seen[k] : 0));
      correct = new Array<number>(numClasses).fill(0);
      seen = new Array<number>(numClasses).fill(0);
      const eps = classEps(epoch + 1);
      return {
        train_robust_worst_class: Math.min(...classRobust),
        eps_min: eps ? Math.min(...eps) : attack.eps,
        eps_max: eps ? Math.max(...eps) : attack.eps,
      };
    },
    state: () => ({ classRobust }),
    restore(s) {
      classRobust = Array.isArray(s.classRobust) ? (s.classRobust as number[]) : null;
    },
  };
}
