/** Hand computations the objective tests compare against, on logits given directly. */
import * as tf from '@tensorflow/tfjs';
import { mlp } from '../src/models/mlp';

/** A linear 3→3 model with identity weights: f(x) = x, so inputs are the logits. */
export function identityModel(): tf.LayersModel {
  const m = mlp({ inputDim: 3, numClasses: 3, hidden: [], seed: 1 });
  m.setWeights([tf.eye(3), tf.zeros([3])]);
  return m;
}
export const Z = [
  [2.0, 0.5, -1.0],
  [0.1, 0.3, 0.2],
];
export const ZA = [
  [0.5, 1.5, -0.5],
  [-0.2, 0.9, 0.4],
];
export const Y = [0, 2];

export const softmax = (z: number[]) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
export const ce = (z: number[], y: number) => -Math.log(softmax(z)[y]);
export const kl = (zp: number[], zq: number[]) => {
  const p = softmax(zp),
    q = softmax(zq);
  return p.reduce((s, pk, k) => s + pk * (Math.log(pk) - Math.log(q[k])), 0);
};
export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
