/**
 * R+FGSM (Tramèr et al., ICLR 2018): a random signed step of α from x, then one FGSM step of ε − α
 * from there, projected onto the ε-ball and [0, 1]. The random step escapes the sharp curvature of
 * the loss right at a data point that makes plain FGSM weak against adversarially trained models.
 */
import * as tf from '@tensorflow/tfjs';
import { pgd } from './pgd';

export interface RfgsmOptions {
  eps: number;
  /** size of the random step (default ε/2, the paper's) */
  alpha?: number;
  seed?: number;
  clip?: [number, number];
}

export function rfgsm(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, o: RfgsmOptions): tf.Tensor {
  const alpha = o.alpha ?? o.eps / 2;
  const start = tf.tidy(() => tf.add(x, tf.mul(tf.sign(tf.randomNormal(x.shape, 0, 1, 'float32', o.seed)), alpha)));
  const out = pgd(model, x, y, { eps: o.eps, alpha: o.eps - alpha, steps: 1, start, clip: o.clip });
  start.dispose();
  return out;
}
