/**
 * RAT (Jin, Yi, Wu, Mu, Huang, CVPR 2023): randomized adversarial training via Taylor expansion,
 * in its TRADES form as the authors' code has it (Alexkael/Randomized-Adversarial-Training,
 * TRADES_first_second). Per batch:
 *   1. the adversarial example x' maximises TRADES's KL on a copy of the model whose conv kernels
 *      carry Gaussian noise N(0, σ²), σ = 1e-4 (the randomised weights);
 *   2. from the gradient G of the mean CE with respect to the last dense layer's kernel, at x and at
 *      x', the per-class sums s_k = Σ_j G_jk give first-order (|s|) and second-order (s²) Taylor
 *      terms; their clean/adversarial gaps become soft-label targets T[y] (regGap below: mass 1 − c
 *      on the true class and c spread over the others in proportion to the gap, c = 0.8 for 10
 *      classes and 0.98 for 100, i.e. c = 1 − 2/K);
 *   3. L = (1 − α)·CE(f(x), y) + α·½[KL(T1[y] ‖ f(x')) + KL(T1'[y] ‖ f(x))]
 *          + ½α·½[KL(T2[y] ‖ f(x')) + KL(T2[y] ‖ f(x))] + β·KL(f(x) ‖ f(x')),  α = 0.2, β = 6.
 * Uncertain details, as in the authors' code: both second-order targets use the adversarial-minus-
 * clean gap (their yy1 and yy2 are the same row); we follow the code. The targets are computed with
 * the model in inference mode (the code uses training mode, which in tfjs would also move the
 * batch-norm statistics), and are constants (no gradient flows through them).
 */
import * as tf from '@tensorflow/tfjs';
import { PgdOptions } from '../attacks/pgd';
import { crossEntropy } from '../attacks/losses';
import { logits } from '../models/forward';
import { FROZEN_PREFIX } from '../models/layers';
import { PiatError } from '../util/errors';
import { LossResult, Objective } from './types';
import { trainingAttack } from './adversarial';
import { cleanThenAdversarial, klFromNoise, klPerExample } from './kl';
import { tidyValues } from '../util/tensors';

export interface RatOptions {
  /** weight of the Taylor terms (default 0.2) */
  alpha?: number;
  /** TRADES β (default 6) */
  beta?: number;
  /** standard deviation of the noise on conv kernels while the attack runs (default 1e-4) */
  weightNoise?: number;
  attack?: PgdOptions;
}

/**
 * RAT's soft-label matrix from a per-class gap g: row i puts 1 − c on class i and spreads c over
 * the other classes in proportion to g − min(g) (uniformly where that is all zero).
 */
export function regGap(gap: ArrayLike<number>): number[][] {
  const k = gap.length;
  const c = 1 - 2 / k;
  const lo = Math.min(...Array.from(gap));
  const shifted = Array.from(gap, (g) => g - lo);
  return shifted.map((_, i) => {
    const others = shifted.map((g, j) => (j === i ? 0 : g));
    const sum = others.reduce((a, b) => a + b, 0);
    return others.map((g, j) => (j === i ? 1 - c : sum > 0 ? (c * g) / sum : c / (k - 1)));
  });
}

/** Mean over the batch of KL(t ‖ softmax(z)) = Σ t (log t − log p), with 0·log 0 = 0. */
export function klToTarget(t: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const tLogT = tf.where(tf.greater(t, 0), tf.mul(t, tf.log(tf.maximum(t, 1e-30))), tf.zerosLike(t));
    return tf.mean(tf.sum(tf.sub(tLogT, tf.mul(t, tf.logSoftmax(z))), 1)) as tf.Scalar;
  });
}

function lastDenseKernel(model: tf.LayersModel): tf.Variable {
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const l = model.layers[i];
    if (l.getClassName() === 'Dense' && l.trainableWeights.length) return l.trainableWeights[0].read() as tf.Variable;
  }
  throw new PiatError('bad-model', `RAT needs a final Dense layer (the classifier); model '${model.name}' has none`);
}

function convKernels(model: tf.LayersModel): tf.Variable[] {
  return model.weights
    .filter((w) => /conv/i.test(w.originalName) && /kernel/.test(w.originalName) && !w.originalName.startsWith(FROZEN_PREFIX))
    .map((w) => w.read() as tf.Variable);
}

/** Per-class sums over features of ∂ mean CE / ∂ kernel (the authors' Σ_j fc.weight.grad[k, j]). */
function classGradientSums(model: tf.LayersModel, kernel: tf.Variable, x: tf.Tensor, y: tf.Tensor1D): Float32Array {
  return tidyValues(() => {
    const { grads } = tf.variableGrads(() => crossEntropy(logits(model, x, false), y), [kernel]);
    return [tf.sum(grads[kernel.name], 0)];
  })[0] as Float32Array;
}

export function rat(opts: RatOptions = {}): Objective {
  const alpha = opts.alpha ?? 0.2;
  const beta = opts.beta ?? 6;
  const sigma = opts.weightNoise ?? 1e-4;
  const attack = trainingAttack(opts.attack);
  for (const [k, v] of Object.entries({ alpha, beta, weightNoise: sigma }))
    if (!(Number.isFinite(v) && v >= 0)) throw new PiatError('bad-option', `RAT option '${k}' must be a number >= 0, got ${v}`);
  // the soft targets made by adversarial() for the loss() call that follows it
  let targets: { first: tf.Tensor2D; firstClean: tf.Tensor2D; second: tf.Tensor2D } | null = null;

  return {
    name: 'rat',
    config: { alpha, beta, weightNoise: sigma, attack },
    adversarial(model, x, y, ctx) {
      const kernels = convKernels(model);
      const saved = kernels.map((k) => tf.clone(k));
      const noiseSeed = ctx.rng.seed();
      kernels.forEach((k, i) => tf.tidy(() => k.assign(tf.add(k, tf.randomNormal(k.shape, 0, sigma, 'float32', noiseSeed + i)))));
      let xAdv: tf.Tensor;
      try {
        xAdv = klFromNoise(model, x, y, attack, ctx);
      } finally {
        kernels.forEach((k, i) => k.assign(saved[i]));
        tf.dispose(saved);
      }
      const kernel = lastDenseKernel(model);
      const sClean = classGradientSums(model, kernel, x, y);
      const sAdv = classGradientSums(model, kernel, xAdv, y);
      const rows = (gap: number[]) => tf.gather(tf.tensor2d(regGap(gap)), y) as tf.Tensor2D;
      const abs = (s: Float32Array) => Array.from(s, Math.abs);
      const sq = (s: Float32Array) => Array.from(s, (v) => v * v);
      const a1 = abs(sClean),
        b1 = abs(sAdv),
        a2 = sq(sClean),
        b2 = sq(sAdv);
      if (targets) tf.dispose([targets.first, targets.firstClean, targets.second]);
      targets = {
        first: rows(a1.map((v, i) => v - b1[i])),
        firstClean: rows(b1.map((v, i) => v - a1[i])),
        second: rows(b2.map((v, i) => v - a2[i])),
      };
      return xAdv;
    },
    loss(model, x, xAdv, y): LossResult {
      if (!targets || targets.first.shape[0] !== y.shape[0])
        throw new PiatError(
          'bad-call',
          'RAT loss() needs the targets of the adversarial() call for the same batch; call adversarial() first',
        );
      const { z, zAdv } = cleanThenAdversarial(model, x, xAdv);
      const ce = crossEntropy(z, y);
      const first = tf.mul(0.5, tf.add(klToTarget(targets.first, zAdv), klToTarget(targets.firstClean, z))) as tf.Scalar;
      const second = tf.mul(0.5, tf.add(klToTarget(targets.second, zAdv), klToTarget(targets.second, z))) as tf.Scalar;
      const kl = tf.mean(klPerExample(z, zAdv)) as tf.Scalar;
      const loss = tf.addN([tf.mul(1 - alpha, ce), tf.mul(alpha, first), tf.mul(0.5 * alpha, second), tf.mul(beta, kl)]) as tf.Scalar;
      return { loss, parts: { ce_clean: ce, taylor_first: first, taylor_second: second, kl } };
    },
  };
}
