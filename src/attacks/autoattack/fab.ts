/**
 * FAB, L∞ (Croce & Hein, ICML 2020), as AutoAttack runs it (fab_base.py, α_max 0.1, η 1.05, β 0.9).
 * FAB-T (standard version): targeted, one restart so no random start. Untargeted FAB (version
 * plus, 5 restarts, random starts after the first): each step takes the class whose linearised
 * boundary is nearest, |z_k − z_y| / ‖∇(z_k − z_y)‖₁. Each step linearises z_t − z_y at the current point, projects both the current point and the original input onto
 * that hyperplane within the box [0, 1] (minimal L∞ step), moves to a convex combination biased
 * towards the original input, and after each success shrinks back towards it by β. An attack
 * counts only if its L∞ distance is at most ε.
 */
import * as tf from '@tensorflow/tfjs';
import { logits } from '../../models/forward';
import { rankedTarget, roundsOnRobust, RoundResult } from './rounds';
import { correctFlags } from '../contract';
import { tidyValues } from '../../util/tensors';
import { Rng } from '../../util/rng';

export interface FabOptions {
  eps: number;
  steps?: number;
  targets?: number;
  alphaMax?: number;
  eta?: number;
  beta?: number;
  seed?: number;
}

/**
 * Minimal L∞ step d (per row) with ⟨w, t + d⟩ = b and t + d in [0, 1] (fab_projections.projection_linf).
 * `order` holds, per row, the feature indices sorted by p descending (from tf.topk).
 */
export function projectionLinf(
  t: Float32Array,
  w0: Float32Array,
  b0in: Float32Array,
  rows: number,
  dim: number,
  order?: Int32Array,
): Float32Array {
  const out = new Float32Array(rows * dim);
  const w = new Float64Array(dim);
  const a = new Uint8Array(dim);
  const d = new Float64Array(dim);
  const p = new Float32Array(rows * dim);
  const signs = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let wt = 0;
    for (let i = 0; i < dim; i++) wt += w0[o + i] * t[o + i];
    signs[r] = wt - b0in[r] >= 0 ? 1 : -1;
    for (let i = 0; i < dim; i++) {
      const wi = w0[o + i] * signs[r];
      const ai = wi < 0 ? 1 : 0;
      p[o + i] = ai - t[o + i] * (2 * ai - 1);
    }
  }
  const ord = order ?? orderDescending(p, rows, dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const sign = signs[r];
    let b = b0in[r] * sign;
    let wt = 0;
    let b0 = 0;
    for (let i = 0; i < dim; i++) {
      w[i] = w0[o + i] * sign;
      a[i] = w[i] < 0 ? 1 : 0;
      d[i] = w[i] !== 0 ? a[i] - t[o + i] : 0;
      wt += w[i] * t[o + i];
      b0 += w[i] * d[i];
    }
    b -= wt;
    // indp2 = order (p descending); s = cumsum |w| along it; sb = cumsum(−w·d) + b0
    const s = new Float64Array(dim);
    const sb = new Float64Array(dim);
    let acc = 0;
    let accb = b0;
    for (let j = 0; j < dim; j++) {
      const k = ord[o + j];
      acc += Math.abs(w[k]);
      accb += -w[k] * d[k];
      s[j] = acc;
      sb[j] = accb;
    }
    const pSmallest = p[o + ord[o + dim - 1]];
    const b2 = sb[dim - 1] - s[dim - 1] * pSmallest;
    const cL = b - b2 > 0;
    const c2 = b - b0 > 0 && b - b2 <= 0;
    if (cL) {
      const lmbd = Math.max((b - sb[dim - 1]) / -s[dim - 1], 0);
      for (let i = 0; i < dim; i++) d[i] = (2 * a[i] - 1) * lmbd;
    } else if (c2) {
      let lb = 0;
      let ub = dim - 1;
      const iters = Math.ceil(Math.log2(dim));
      for (let it = 0; it < iters; it++) {
        const mid = Math.floor((lb + ub) / 2);
        // indp[D−1−mid] is the feature at position mid of the descending order
        const idx = ord[o + mid];
        const bb = sb[mid] - s[mid] * p[o + idx];
        if (b - bb > 0) lb = mid;
        else ub = mid;
      }
      const lmbd = Math.max((b - sb[lb]) / -s[lb], 0);
      for (let i = 0; i < dim; i++) d[i] = a[i] ? Math.min(lmbd, d[i]) : Math.max(-lmbd, d[i]);
    }
    for (let i = 0; i < dim; i++) out[o + i] = w[i] !== 0 ? d[i] : 0;
  }
  return out;
}

/**
 * Per row, the feature indices sorted by value, largest first. Sorts float64 keys natively (about
 * 2x tf.topk here): the float32's bits mapped to an order-preserving unsigned integer, times a
 * power of two above dim, plus the index, which is exact below 2^53.
 */
export function orderDescending(v: Float32Array, rows: number, dim: number): Int32Array {
  const bits = new Uint32Array(v.buffer, v.byteOffset, rows * dim);
  const scale = 2 ** Math.ceil(Math.log2(Math.max(dim, 2)));
  const keys = new Float64Array(dim);
  const out = new Int32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    for (let i = 0; i < dim; i++) {
      const b = bits[o + i];
      // negative floats: flip all bits; non-negative: set the sign bit
      keys[i] = (b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0) * scale + i;
    }
    keys.sort();
    for (let j = 0; j < dim; j++) out[o + j] = keys[dim - 1 - j] % scale;
  }
  return out;
}

function linfRows(x: Float32Array, rows: number, dim: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let i = 0; i < dim; i++) m = Math.max(m, Math.abs(x[r * dim + i]));
    out[r] = m;
  }
  return out;
}

/** The boundary a FAB step linearises, per example: z_k − z_y and its input gradient (rows of dim). */
type Boundary = (xt: tf.Tensor) => { df: Float32Array; dg: Float32Array };

/** z_t − z_y for a fixed target per example, and its input gradient, from one forward pass. */
function targetBoundary(model: tf.LayersModel, y: tf.Tensor1D, target: tf.Tensor1D): Boundary {
  return (xt) => {
    const [df, dg] = tidyValues(() => {
      let diff: tf.Tensor | null = null;
      const grad = tf.grad((inp: tf.Tensor) => {
        const z = logits(model, inp, false);
        const k = z.shape[1];
        const dz = tf.sub(tf.sum(tf.mul(z, tf.oneHot(target, k)), 1), tf.sum(tf.mul(z, tf.oneHot(y, k)), 1));
        diff = tf.keep(dz);
        return tf.sum(dz);
      })(xt);
      return [diff as unknown as tf.Tensor, grad];
    }) as Float32Array[];
    return { df, dg };
  };
}

/**
 * Untargeted: every class's z_k − z_y and gradient (one backward pass per class, as the reference's
 * Jacobian), then per example the class with the nearest linearised boundary, |df_k| / ‖dg_k‖₁.
 */
function nearestBoundary(model: tf.LayersModel, y: tf.Tensor1D, numClasses: number): Boundary {
  const labels = y.dataSync() as Int32Array;
  return (xt) => {
    const bs = xt.shape[0];
    const dim = xt.size / bs;
    const z = tidyValues(() => [logits(model, xt, false)])[0] as Float32Array;
    const grads = Array.from(
      { length: numClasses },
      (_, k) =>
        tidyValues(() => [tf.grad((inp: tf.Tensor) => tf.sum(tf.gather(logits(model, inp, false), [k], 1)))(xt)])[0] as Float32Array,
    );
    const df = new Float32Array(bs);
    const dg = new Float32Array(bs * dim);
    for (let r = 0; r < bs; r++) {
      const yr = labels[r];
      let best = -1;
      let bestScore = Infinity;
      for (let k = 0; k < numClasses; k++) {
        if (k === yr) continue;
        let l1 = 0;
        for (let i = 0; i < dim; i++) l1 += Math.abs(grads[k][r * dim + i] - grads[yr][r * dim + i]);
        const score = Math.abs(z[r * numClasses + k] - z[r * numClasses + yr]) / (l1 + 1e-12);
        if (score < bestScore) {
          bestScore = score;
          best = k;
        }
      }
      df[r] = z[r * numClasses + best] - z[r * numClasses + yr];
      for (let i = 0; i < dim; i++) dg[r * dim + i] = grads[best][r * dim + i] - grads[yr][r * dim + i];
    }
    return { df, dg };
  };
}

/**
 * One FAB run on correctly classified examples; returns adversarial points (or inputs). With
 * `randomStart` it starts at a random point at L∞ distance ε/2 (the reference's restarts after the first).
 */
function fabSingleRun(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor1D,
  boundary: Boundary,
  o: Required<Omit<FabOptions, 'seed' | 'targets'>>,
  randomStart?: Rng,
): { adv: Float32Array; dist: Float64Array } {
  const bs = x.shape[0];
  const dim = x.size / bs;
  const im2 = x.dataSync() as Float32Array;
  let x1 = Float32Array.from(im2);
  if (randomStart) {
    for (let r = 0; r < bs; r++) {
      const t = Array.from({ length: dim }, () => 2 * randomStart.next() - 1);
      const m = Math.max(...t.map(Math.abs), 1e-12);
      for (let i = 0; i < dim; i++) x1[r * dim + i] = Math.min(1, Math.max(0, im2[r * dim + i] + (o.eps * t[i] * 0.5) / m));
    }
  }
  const adv = Float32Array.from(im2);
  const res2 = new Float64Array(bs).fill(1e10);
  for (let it = 0; it < o.steps; it++) {
    const xt = tf.tensor(x1, x.shape);
    const { df, dg } = boundary(xt);
    xt.dispose();
    // hyperplane ⟨dg, z⟩ = b with b = −df + ⟨dg, x1⟩; project x1 and the original input
    const pts = new Float32Array(2 * bs * dim);
    pts.set(x1, 0);
    pts.set(im2, bs * dim);
    const ws = new Float32Array(2 * bs * dim);
    ws.set(dg, 0);
    ws.set(dg, bs * dim);
    const bb = new Float32Array(2 * bs);
    for (let r = 0; r < bs; r++) {
      let s = 0;
      for (let i = 0; i < dim; i++) s += dg[r * dim + i] * x1[r * dim + i];
      bb[r] = bb[bs + r] = -df[r] + s;
    }
    const d3 = projectionLinf(pts, ws, bb, 2 * bs, dim);
    const a0 = linfRows(d3, 2 * bs, dim).map((v) => Math.max(v, 1e-8));
    const next = new Float32Array(bs * dim);
    for (let r = 0; r < bs; r++) {
      const a1 = a0[r];
      const a2 = a0[bs + r];
      const alpha = Math.min(Math.max(a1 / (a1 + a2), 0), o.alphaMax);
      for (let i = 0; i < dim; i++) {
        const k = r * dim + i;
        const v = (x1[k] + o.eta * d3[k]) * (1 - alpha) + (im2[k] + d3[bs * dim + k] * o.eta) * alpha;
        next[k] = Math.min(1, Math.max(0, v));
      }
    }
    x1 = next;
    const xNext = tf.tensor(x1, x.shape);
    const correct = correctFlags(model, xNext, y);
    xNext.dispose();
    for (let r = 0; r < bs; r++) {
      if (correct[r]) continue;
      let tdist = 0;
      for (let i = 0; i < dim; i++) tdist = Math.max(tdist, Math.abs(x1[r * dim + i] - im2[r * dim + i]));
      if (tdist < res2[r]) {
        adv.set(x1.subarray(r * dim, (r + 1) * dim), r * dim);
        res2[r] = tdist;
      }
      for (let i = 0; i < dim; i++) x1[r * dim + i] = im2[r * dim + i] + (x1[r * dim + i] - im2[r * dim + i]) * o.beta;
    }
  }
  return { adv, dist: res2 };
}

/** FAB-T over the `targets` most likely wrong classes; success needs L∞ distance ≤ ε. */
export function fabTargeted(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, o: FabOptions): { adv: tf.Tensor; robust: boolean[] } {
  const opts = fabDefaults(o);
  return roundsOnRobust(model, x, y, o.targets ?? 9, (xs, ys, k) => {
    const target = rankedTarget(model, xs, k + 2);
    const r = fabSingleRun(model, xs, ys, targetBoundary(model, ys, target), opts);
    target.dispose();
    return fabRound(model, xs, ys, r, opts.eps);
  });
}

/** Untargeted FAB with `restarts` runs (random starts after the first), each on the points still robust. */
export function fabUntargeted(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor1D,
  o: FabOptions & { restarts?: number },
): { adv: tf.Tensor; robust: boolean[] } {
  const opts = fabDefaults(o);
  const rng = new Rng(o.seed ?? 0);
  return roundsOnRobust(model, x, y, o.restarts ?? 1, (xs, ys, k) => {
    const numClasses = tf.tidy(() => logits(model, xs.slice([0], [1]), false).shape[1]);
    const r = fabSingleRun(model, xs, ys, nearestBoundary(model, ys, numClasses), opts, k > 0 ? rng : undefined);
    return fabRound(model, xs, ys, r, opts.eps);
  });
}

function fabDefaults(o: FabOptions) {
  return { eps: o.eps, steps: o.steps ?? 100, alphaMax: o.alphaMax ?? 0.1, eta: o.eta ?? 1.05, beta: o.beta ?? 0.9 };
}

/** As the reference: a run's point counts when it is misclassified on re-prediction and within ε (r.dist is its L∞ distance). */
function fabRound(
  model: tf.LayersModel,
  xs: tf.Tensor,
  ys: tf.Tensor1D,
  r: { adv: Float32Array; dist: Float64Array },
  eps: number,
): RoundResult {
  const adv = tf.tensor(r.adv, xs.shape);
  const correct = correctFlags(model, adv, ys);
  return { adv, fooled: correct.map((c, j) => !c && r.dist[j] <= eps) };
}
