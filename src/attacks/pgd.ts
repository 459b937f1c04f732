/**
 * Projected gradient descent (Madry et al. 2018): random start in the ε-ball, then
 * x ← Π_{B(x0,ε) ∩ [lo,hi]}(x + α·sign(∇x L)) for L∞, or a normalised-gradient step for L2.
 * Works on any input shape (toy vectors, NHWC images). Runs the model in inference mode, so it
 * never changes weights or batch-norm statistics.
 */
import * as tf from '@tensorflow/tfjs';
import { logits } from '../models/forward';
import { ATTACK_LOSSES, AttackLossName, PerExampleLoss } from './losses';
import { PiatError } from '../util/errors';
import { Norm, project, toUnitNorm } from './projection';
import { randomNormal, randomUniform } from './random';

/**
 * A backend's fused attack step (the torch backend's, with the fused model:
 * src/backend/torch/fused-attack.ts): the input gradient of the summed cross entropy in one native
 * call, and the L∞ step with its projection in another. Each returns null where it does not apply,
 * and the composite runs.
 */
export interface FusedPgd {
  ceInputGrad(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D): tf.Tensor | null;
  linfStep(xAdv: tf.Tensor, g: tf.Tensor, x: tf.Tensor, alpha: number, eps: number, clip: [number, number]): tf.Tensor | null;
}
let fusedPgd: FusedPgd | null = null;

/** Plugs a backend's fused attack step into pgd() (and so into every attack and objective built on it). */
export function setFusedPgd(f: FusedPgd | null): void {
  fusedPgd = f;
}

export interface PgdOptions {
  /** radius of the threat model (L∞: 8/255 in the paper) */
  eps: number;
  /** step size (L∞: 2/255 in the paper) */
  alpha: number;
  /** iterations (PGD20 = 20) */
  steps: number;
  /** uniform random start inside the ε-ball (default true) */
  randomStart?: boolean;
  norm?: Norm;
  /** loss to maximise: 'ce' (default), 'margin' (CW∞), or a per-example loss function */
  loss?: AttackLossName | PerExampleLoss;
  /** valid input range (default [0, 1]) */
  clip?: [number, number];
  /** seed of the random start; the same seed gives the same adversarial examples */
  seed?: number;
  /** explicit starting point (projected onto the ε-ball around x); replaces the random start */
  start?: tf.Tensor;
  /** a radius per example (CFA's class-wise ε), replacing `eps` in the random start and projection */
  epsPerExample?: tf.Tensor1D;
}

export function validatePgd(o: PgdOptions): void {
  for (const k of ['eps', 'alpha', 'steps'] as const) {
    if (!(Number.isFinite(o[k]) && o[k] >= 0)) {
      throw new PiatError('bad-option', `PGD option '${k}' must be a finite number >= 0, got ${o[k]}`);
    }
  }
  if (!Number.isInteger(o.steps)) throw new PiatError('bad-option', `PGD option 'steps' must be an integer, got ${o.steps}`);
  if (o.norm && o.norm !== 'linf' && o.norm !== 'l2') {
    throw new PiatError('unknown-option', `Unknown PGD norm '${o.norm}'. Expected one of: linf, l2.`);
  }
  if (typeof o.loss === 'string' && !(o.loss in ATTACK_LOSSES)) {
    throw new PiatError('unknown-option', `Unknown attack loss '${o.loss}'. Expected one of: ${Object.keys(ATTACK_LOSSES).join(', ')}.`);
  }
}

export function pgd(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, opts: PgdOptions): tf.Tensor {
  validatePgd(opts);
  const norm = opts.norm ?? 'linf';
  const clip = opts.clip ?? [0, 1];
  const lossFn: PerExampleLoss = typeof opts.loss === 'function' ? opts.loss : ATTACK_LOSSES[opts.loss ?? 'ce'];
  const ceLoss = (opts.loss ?? 'ce') === 'ce';
  // Summed (not mean) loss: each example's gradient is independent of the batch size.
  const grad = tf.grad((xa: tf.Tensor) => tf.sum(lossFn(logits(model, xa, false), y)));

  const perExample = opts.epsPerExample;
  if (perExample && perExample.shape[0] !== x.shape[0]) {
    throw new PiatError('bad-shape', `PGD epsPerExample has ${perExample.shape[0]} radii for a batch of ${x.shape[0]}`);
  }
  const eps: number | tf.Tensor = perExample ? tf.reshape(perExample, [x.shape[0], ...x.shape.slice(1).map(() => 1)]) : opts.eps;
  let xAdv = tf.tidy(() => {
    if (opts.start) return project(opts.start, x, eps, norm, clip);
    if (opts.randomStart === false || (!perExample && opts.eps === 0)) return tf.clone(x);
    const seed = opts.seed;
    // (scalar ε keeps its original draw, so earlier runs reproduce bit for bit)
    const scaled = (shape: number[], lo: number, s?: number) =>
      typeof eps === 'number' ? randomUniform(shape, lo * eps, eps, s) : tf.mul(randomUniform(shape, lo, 1, s), eps);
    if (norm === 'linf') return project(tf.add(x, scaled(x.shape, -1, seed)), x, eps, norm, clip);
    // L2: a random direction scaled to a uniform radius in [0, ε] (as torchattacks does)
    const d = randomNormal(x.shape, 0, 1, seed);
    const r = scaled([x.shape[0], ...x.shape.slice(1).map(() => 1)], 0, seed === undefined ? undefined : seed + 1);
    return project(tf.add(x, tf.mul(toUnitNorm(d, 'l2'), r)), x, eps, norm, clip);
  });

  for (let i = 0; i < opts.steps; i++) {
    const next = tf.tidy(() => {
      const g = (ceLoss && fusedPgd?.ceInputGrad(model, xAdv, y)) || grad(xAdv);
      const fusedStep = norm === 'linf' && typeof eps === 'number' ? fusedPgd?.linfStep(xAdv, g, x, opts.alpha, eps, clip) : null;
      if (fusedStep) return fusedStep;
      const step = norm === 'linf' ? tf.sign(g) : toUnitNorm(g, 'l2');
      return project(tf.add(xAdv, tf.mul(step, opts.alpha)), x, eps, norm, clip);
    });
    xAdv.dispose();
    xAdv = next;
  }
  if (typeof eps !== 'number') eps.dispose();
  return xAdv;
}
