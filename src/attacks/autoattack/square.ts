/**
 * Square Attack, L∞ (Andriushchenko et al. 2020), as AutoAttack runs it (square.py, p_init 0.8,
 * no schedule rescaling): start from vertical stripes of ±ε per channel, then each iteration one
 * random square (side from the p schedule) with a random ±2ε per channel, shared by the batch;
 * an example keeps the change if its margin loss falls (or it becomes misclassified). Query
 * budget: one evaluation at the start plus one per iteration for each example not yet fooled.
 */
import * as tf from '@tensorflow/tfjs';
import { logits } from '../../models/forward';
import { Rng } from '../../util/rng';
import { PiatError } from '../../util/errors';

export interface SquareOptions {
  eps: number;
  /** iterations (5000 in AutoAttack) */
  queries?: number;
  pInit?: number;
  seed?: number;
}

/** The p schedule (fraction of pixels changed) at iteration `it`. */
export function squareP(it: number, pInit = 0.8): number {
  const steps: [number, number][] = [
    [10, 1],
    [50, 2],
    [200, 4],
    [500, 8],
    [1000, 16],
    [2000, 32],
    [4000, 64],
    [6000, 128],
    [8000, 256],
  ];
  if (it <= 10) return pInit;
  for (let s = steps.length - 1; s >= 0; s--) if (it > steps[s][0]) return pInit / (s === steps.length - 1 ? 512 : steps[s + 1][1]);
  return pInit;
}

/** margin z_y − max_{j≠y} z_j per example. */
function margins(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D): number[] {
  return tf.tidy(() => {
    const z = logits(model, x, false);
    const oh = tf.oneHot(y, z.shape[1]);
    const zy = tf.sum(tf.mul(z, oh), 1);
    const other = tf.max(tf.sub(z, tf.mul(oh, 1e9)), 1);
    return Array.from(tf.sub(zy, other).dataSync());
  });
}

export function squareAttack(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor1D,
  o: SquareOptions,
): { adv: tf.Tensor; robust: boolean[]; queries: number[] } {
  if (x.rank !== 4) throw new PiatError('bad-shape', `Square attack needs images [n, h, w, c], got shape [${x.shape}]`);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const eps = o.eps;
  const budget = o.queries ?? 5000;
  const pInit = o.pInit ?? 0.8;
  const rng = new Rng(o.seed ?? 0);
  const xs = x.dataSync() as Float32Array;
  const best = new Float32Array(xs.length);
  // vertical stripes: ±ε per (example, column, channel), over all rows
  for (let i = 0; i < n; i++)
    for (let col = 0; col < w; col++)
      for (let ch = 0; ch < c; ch++) {
        const s = rng.next() < 0.5 ? -eps : eps;
        for (let row = 0; row < h; row++) {
          const k = ((i * h + row) * w + col) * c + ch;
          best[k] = Math.min(1, Math.max(0, xs[k] + s));
        }
      }
  const yArr = Array.from(y.dataSync());
  const marginMin = tf.tidy(() => margins(model, tf.tensor(best, x.shape), y));
  const queries = new Array(n).fill(1);
  const per = h * w * c;
  for (let it = 0; it < budget; it++) {
    const active = marginMin.map((m, i) => (m > 0 ? i : -1)).filter((i) => i >= 0);
    if (!active.length) break;
    const p = squareP(it, pInit);
    const s = Math.max(Math.round(Math.sqrt((p * per) / c)), 1);
    const vh = Math.floor(rng.next() * (h - s));
    const vw = Math.floor(rng.next() * (w - s));
    const signs = Array.from({ length: c }, () => (rng.next() < 0.5 ? -2 * eps : 2 * eps));
    const cand = new Float32Array(active.length * per);
    active.forEach((i, a) => {
      cand.set(best.subarray(i * per, (i + 1) * per), a * per);
      for (let row = vh; row < vh + s; row++)
        for (let col = vw; col < vw + s; col++)
          for (let ch = 0; ch < c; ch++) {
            const k = (row * w + col) * c + ch;
            const orig = xs[i * per + k];
            const v = cand[a * per + k] + signs[ch];
            cand[a * per + k] = Math.min(1, Math.max(0, Math.min(orig + eps, Math.max(orig - eps, v))));
          }
    });
    const yAct = tf.tensor1d(
      active.map((i) => yArr[i]),
      'int32',
    );
    const m = tf.tidy(() => margins(model, tf.tensor(cand, [active.length, h, w, c]), yAct));
    yAct.dispose();
    active.forEach((i, a) => {
      queries[i]++;
      if (m[a] < marginMin[i] || m[a] <= 0) {
        marginMin[i] = m[a];
        best.set(cand.subarray(a * per, (a + 1) * per), i * per);
      }
    });
  }
  return { adv: tf.tensor(best, x.shape), robust: marginMin.map((m) => m > 0), queries };
}
