/**
 * FGSM, I-FGSM (BIM), MI-FGSM and CW∞: the sign-gradient family, each a small wrapper around
 * PGD's step and projection (src/attacks/pgd.ts), as docs/METHOD.md, "Attacks", defines them:
 *   FGSM     x' = clip(x + ε·sign(∇x L))
 *   I-FGSM   FGSM with step α, `steps` times, projected onto the ε-ball (no random start)
 *   MI-FGSM  g ← μ·g + ∇x L/‖∇x L‖₁ (per example), x' ← Π(x' + α·sign(g)), μ = 1
 *   CW∞      PGD on the margin loss max_{j≠y} z_j − z_y (the "CW" of adversarial-training tables)
 */
import * as tf from '@tensorflow/tfjs';
import { logits } from '../models/forward';
import { ATTACK_LOSSES, AttackLossName, PerExampleLoss } from './losses';
import { pgd, PgdOptions, validatePgd } from './pgd';
import { project } from './projection';

export interface FgsmOptions {
  eps: number;
  loss?: AttackLossName | PerExampleLoss;
  clip?: [number, number];
}

export function fgsm(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, o: FgsmOptions): tf.Tensor {
  return pgd(model, x, y, { eps: o.eps, alpha: o.eps, steps: 1, randomStart: false, loss: o.loss, clip: o.clip });
}

export type IfgsmOptions = Omit<PgdOptions, 'randomStart' | 'seed' | 'norm'>;

export function ifgsm(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, o: IfgsmOptions): tf.Tensor {
  return pgd(model, x, y, { ...o, randomStart: false, norm: 'linf' });
}

export interface MifgsmOptions extends IfgsmOptions {
  /** momentum decay μ (default 1.0, Dong et al. 2018) */
  decay?: number;
}

export function mifgsm(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, o: MifgsmOptions): tf.Tensor {
  validatePgd({ ...o });
  const mu = o.decay ?? 1.0;
  const clip = o.clip ?? [0, 1];
  const lossFn: PerExampleLoss = typeof o.loss === 'function' ? o.loss : ATTACK_LOSSES[o.loss ?? 'ce'];
  const grad = tf.grad((xa: tf.Tensor) => tf.sum(lossFn(logits(model, xa, false), y)));
  const axes = x.shape.slice(1).map((_, i) => i + 1);
  let xAdv = tf.clone(x);
  let g = tf.zerosLike(x);
  for (let i = 0; i < o.steps; i++) {
    const [nx, ng] = tf.tidy(() => {
      const d = grad(xAdv);
      const l1 = tf.sum(tf.abs(d), axes, true);
      const gNew = tf.add(tf.mul(g, mu), tf.div(d, tf.add(l1, 1e-12)));
      return [project(tf.add(xAdv, tf.mul(tf.sign(gNew), o.alpha)), x, o.eps, 'linf', clip), gNew];
    });
    tf.dispose([xAdv, g]);
    xAdv = nx;
    g = ng;
  }
  g.dispose();
  return xAdv;
}

/** CW∞: PGD with the margin loss (paper's tables: ε 8/255, α 2/255, 20 or 30 steps). */
export function cwInf(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, o: Omit<PgdOptions, 'loss'>): tf.Tensor {
  return pgd(model, x, y, { ...o, loss: 'margin' });
}
