/**
 * What APGD, APGD-T, FAB and FAB-T share, as the reference runs them: rounds (restarts, or target
 * classes in turn) on the points still robust, each round's successes copied into the adversarial
 * batch, and the target of a targeted round taken from the clean logits' ranking.
 */
import * as tf from '@tensorflow/tfjs';
import { logits } from '../../models/forward';
import { correctFlags } from '../contract';

/** Rows `idx` of t (a new tensor). */
export function gatherRows(t: tf.Tensor, idx: number[]): tf.Tensor {
  return tf.tidy(() => tf.gather(t, tf.tensor1d(idx, 'int32')));
}

/** dst with rows idx replaced by the rows of src (in order); a new tensor. */
export function scatterRows(dst: tf.Tensor, idx: number[], src: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const n = dst.shape[0];
    const pos = new Int32Array(n).fill(-1);
    idx.forEach((r, j) => (pos[r] = j));
    const take = Array.from(pos).map((p) => (p >= 0 ? p : 0));
    const gathered = tf.gather(src, tf.tensor1d(take, 'int32'));
    const mask = tf.tensor1d(Array.from(pos).map((p) => (p >= 0 ? 1 : 0)));
    const shape = [n, ...new Array(dst.rank - 1).fill(1)];
    return tf.where(tf.cast(tf.reshape(mask, shape), 'bool'), gathered, dst);
  });
}

/** One round's result on the points it was given: their adversarial inputs and which of them it fooled. */
export interface RoundResult {
  adv: tf.Tensor;
  fooled: boolean[];
}

/**
 * Runs `round(xs, ys, k)` for k = 0 … rounds − 1 on the points still robust (stopping when none is
 * left) and keeps every success: returns the adversarial batch (the clean input where nothing
 * succeeded) and which points stayed robust. `round` owns nothing it is given; its `adv` is disposed here.
 */
export function roundsOnRobust(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor1D,
  rounds: number,
  round: (xs: tf.Tensor, ys: tf.Tensor1D, k: number) => RoundResult,
): { adv: tf.Tensor; robust: boolean[] } {
  const robust = correctFlags(model, x, y);
  let adv = tf.clone(x);
  for (let k = 0; k < rounds; k++) {
    const idx = robust.map((v, i) => (v ? i : -1)).filter((i) => i >= 0);
    if (!idx.length) break;
    const xs = gatherRows(x, idx);
    const ys = gatherRows(y, idx) as tf.Tensor1D;
    const r = round(xs, ys, k);
    const fooledLocal = r.fooled.map((f, j) => (f ? j : -1)).filter((j) => j >= 0);
    if (fooledLocal.length) {
      const src = gatherRows(r.adv, fooledLocal);
      const next = scatterRows(
        adv,
        fooledLocal.map((j) => idx[j]),
        src,
      );
      tf.dispose([adv, src]);
      adv = next;
      fooledLocal.forEach((j) => (robust[idx[j]] = false));
    }
    tf.dispose([xs, ys, r.adv]);
  }
  return { adv, robust };
}

/** Per example, the class ranked `rank` (1 = the top) by the clean logits: rank 2 is the most likely other class. */
export function rankedTarget(model: tf.LayersModel, xs: tf.Tensor, rank: number): tf.Tensor1D {
  return tf.tidy(
    () =>
      tf
        .topk(logits(model, xs, false), rank)
        .indices.slice([0, rank - 1], [-1, 1])
        .reshape([-1]) as tf.Tensor1D,
  );
}
