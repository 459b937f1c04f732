/**
 * A&P (Mo, Wu, Wang, Guo, Wang, NeurIPS 2022: "When adversarial training meets vision
 * transformers"): two changes to how a ViT's training attack is made, around PGD-AT, TRADES or
 * MART (whose losses are unchanged). Defaults follow the authors' code (train_cifar.py):
 *   ARD, attention random dropping: during the attack, each residual branch of every block passes
 *        its gradient back only with probability r (see GradientGate in models/vit.ts);
 *   PRM, perturbation random masking: at every attack iteration the perturbation is zeroed on
 *        ⌊P·(1 − r)⌋ randomly chosen patches (of the P patches), the same patches for the whole batch.
 * r ramps linearly from 0 to `dropRate` (1.0) over `rampEpochs` (the authors' n_w = 10), so early
 * attacks are weak (few gradients, mostly masked) and later ones are full PGD.
 * The attack steps on the masked perturbation and projects, as the authors' loop does; its start is
 * PGD's uniform one for PGD-AT and 0.001·N(0, 1) for TRADES and MART.
 */
import * as tf from '@tensorflow/tfjs';
import { PgdOptions, validatePgd } from '../attacks/pgd';
import { project } from '../attacks/projection';
import { crossEntropyPerExample } from '../attacks/losses';
import { logits } from '../models/forward';
import { withGradientDropping } from '../models/vit';
import { oneOf, PiatError } from '../util/errors';
import { Rng } from '../util/rng';
import { Objective, ObjectiveContext } from './types';
import { PAPER_TRAIN_ATTACK } from './adversarial';
import { klPerExample, smallNoiseStart } from './kl';
import { pgdAt } from './pgd-at';
import { trades } from './trades';
import { mart } from './mart';

export interface ApOptions {
  base?: 'pgd-at' | 'trades' | 'mart';
  /** the ViT's patch size: PRM masks whole patches */
  patch: number;
  /** final keep rate r (default 1.0) */
  dropRate?: number;
  /** epochs over which r ramps up from 0 (default 10) */
  rampEpochs?: number;
  ard?: boolean;
  prm?: boolean;
  attack?: PgdOptions;
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

export function ap(o: ApOptions): Objective {
  const base = oneOf('A&P base', o.base ?? 'pgd-at', ['pgd-at', 'trades', 'mart'] as const);
  const attack = o.attack ?? PAPER_TRAIN_ATTACK;
  validatePgd(attack);
  if (!(Number.isInteger(o.patch) && o.patch > 0)) throw new PiatError('bad-option', `A&P needs the model's patch size (a whole number > 0), got ${o.patch}`);
  const dropRate = o.dropRate ?? 1;
  const rampEpochs = o.rampEpochs ?? 10;
  const ard = o.ard ?? true;
  const prm = o.prm ?? true;
  const inner = base === 'pgd-at' ? pgdAt({ attack }) : base === 'trades' ? trades({ attack }) : mart({ attack });

  function adversarial(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, ctx: ObjectiveContext): tf.Tensor {
    if (x.rank !== 4) throw new PiatError('bad-shape', `A&P works on image batches [n, h, w, c]; got shape [${x.shape}]`);
    const [, h, w] = x.shape as number[];
    const r = apRate(ctx.epoch, dropRate, rampEpochs);
    const patches = Math.floor(h / o.patch) * Math.floor(w / o.patch);
    const rng = new Rng(ctx.rng.seed());
    const zClean = base === 'trades' ? tf.tidy(() => logits(model, x, false)) : null;
    const loss = (z: tf.Tensor2D) => (zClean ? klPerExample(zClean as tf.Tensor2D, z) : crossEntropyPerExample(z, y));
    const grad = tf.grad((d: tf.Tensor) => tf.sum(loss(logits(model, tf.add(x, d), false))));
    let delta = tf.tidy(() => {
      const start = base === 'pgd-at' ? tf.add(x, tf.randomUniform(x.shape, -attack.eps, attack.eps, 'float32', rng.seed())) : smallNoiseStart(x, ctx);
      return tf.sub(project(start, x, attack.eps, 'linf', [0, 1]), x);
    });
    for (let i = 0; i < attack.steps; i++) {
      const next = tf.tidy(() => {
        const d = prm ? tf.mul(delta, patchMask(h, w, o.patch, Math.floor(patches * (1 - r)), rng)) : delta;
        const g = ard ? withGradientDropping(r, () => rng.next(), () => grad(d)) : grad(d);
        return tf.sub(project(tf.add(tf.add(x, d), tf.mul(tf.sign(g), attack.alpha)), x, attack.eps, 'linf', [0, 1]), x);
      });
      delta.dispose();
      delta = next;
    }
    const out = tf.add(x, delta);
    tf.dispose([delta, ...(zClean ? [zClean] : [])]);
    return out;
  }

  return {
    name: `${inner.name}+ap`,
    config: { base, patch: o.patch, dropRate, rampEpochs, ard, prm, inner: inner.config },
    adversarial,
    loss: (model, x, xAdv, y, ctx) => inner.loss(model, x, xAdv, y, ctx),
  };
}
