/**
 * A&P's training attack (Mo, Wu, Wang, Guo, Wang, NeurIPS 2022, "When adversarial training meets
 * vision transformers"; authors' train_cifar.py): L∞ PGD on a ViT with two changes that weaken it
 * early in training and fade out as the keep rate r grows to 1:
 *   ARD, attention random dropping: each residual branch of every block passes its gradient back
 *        only with probability r (GradientGate layers in models/vit.ts);
 *   PRM, perturbation random masking: at every iteration the perturbation is zeroed on
 *        ⌊P·(1 − r)⌋ randomly chosen patches of the P patches, the same ones for the whole batch.
 * It steps on the masked perturbation and projects, as the authors' loop does. The objective that
 * trains with it is objectives/ap.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { PgdOptions } from './pgd';
import { project } from './projection';
import { crossEntropyPerExample, klPerExample } from './losses';
import { logits } from '../models/forward';
import { withGradientDropping } from '../models/vit';
import { PiatError } from '../util/errors';
import { Rng } from '../util/rng';

export interface ApAttackOptions {
  attack: Pick<PgdOptions, 'eps' | 'alpha' | 'steps'>;
  /** the ViT's patch size: PRM masks whole patches */
  patch: number;
  /** keep rate r in [0, 1] (apRate of the epoch) */
  keep: number;
  /** attention random dropping (default true) */
  ard?: boolean;
  /** perturbation random masking (default true) */
  prm?: boolean;
  /** the loss maximised: cross entropy on the labels (default), or TRADES's KL from the clean outputs */
  loss?: 'ce' | 'kl';
  /** the starting point before projection (TRADES and MART: x + 0.001·N(0, 1)); default PGD's uniform start, drawn from rng */
  start?: tf.Tensor;
  /** random source of the uniform start, the patch masks and ARD's draws */
  rng: Rng;
}

/** r at an epoch: linear from 0 to dropRate over rampEpochs. */
export function apRate(epoch: number, dropRate = 1, rampEpochs = 10): number {
  return rampEpochs > 0 && epoch < rampEpochs ? (epoch / rampEpochs) * dropRate : dropRate;
}

/** A [1, H, W, 1] mask of ones with `masked` random patch×patch squares zeroed. */
export function patchMask(height: number, width: number, patch: number, masked: number, rng: Rng): tf.Tensor4D {
  const gh = Math.floor(height / patch);
  const gw = Math.floor(width / patch);
  const m = new Float32Array(height * width).fill(1);
  const order = rng.permutation(gh * gw);
  for (let k = 0; k < Math.min(masked, gh * gw); k++) {
    const r = Math.floor(order[k] / gw);
    const c = order[k] % gw;
    for (let i = r * patch; i < (r + 1) * patch; i++) for (let j = c * patch; j < (c + 1) * patch; j++) m[i * width + j] = 0;
  }
  return tf.tensor4d(m, [1, height, width, 1]);
}

export function apAttack(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, o: ApAttackOptions): tf.Tensor {
  if (x.rank !== 4) throw new PiatError('bad-shape', `A&P works on image batches [n, h, w, c]; got shape [${x.shape}]`);
  const { eps, alpha, steps } = o.attack;
  const [, h, w] = x.shape as number[];
  const r = o.keep;
  const patches = Math.floor(h / o.patch) * Math.floor(w / o.patch);
  const zClean = o.loss === 'kl' ? tf.tidy(() => logits(model, x, false)) : null;
  const loss = (z: tf.Tensor2D) => (zClean ? klPerExample(zClean as tf.Tensor2D, z) : crossEntropyPerExample(z, y));
  const grad = tf.grad((d: tf.Tensor) => tf.sum(loss(logits(model, tf.add(x, d), false))));
  let delta = tf.tidy(() => {
    const start = o.start ?? tf.add(x, tf.randomUniform(x.shape, -eps, eps, 'float32', o.rng.seed()));
    return tf.sub(project(start, x, eps, 'linf', [0, 1]), x);
  });
  for (let i = 0; i < steps; i++) {
    const next = tf.tidy(() => {
      const d = o.prm !== false ? tf.mul(delta, patchMask(h, w, o.patch, Math.floor(patches * (1 - r)), o.rng)) : delta;
      const g =
        o.ard !== false
          ? withGradientDropping(
              r,
              () => o.rng.next(),
              () => grad(d),
            )
          : grad(d);
      return tf.sub(project(tf.add(tf.add(x, d), tf.mul(tf.sign(g), alpha)), x, eps, 'linf', [0, 1]), x);
    });
    delta.dispose();
    delta = next;
  }
  const out = tf.add(x, delta);
  tf.dispose([delta, ...(zClean ? [zClean] : [])]);
  return out;
}
