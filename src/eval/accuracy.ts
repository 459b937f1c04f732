/** Clean and robust accuracy over a dataset, batched. */
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset, batchIndices } from '../data/dataset';
import { AttackFn, correctFlags } from '../attacks/contract';

export type { AttackFn };

export interface AccuracyOptions {
  /** evaluate the first n examples (default all) */
  n?: number;
  batchSize?: number;
}

/** Runs `attack` (if any) batch by batch over the first n examples and hands each batch's correctness flags and labels to `visit`. */
function visitPredictions(
  model: tf.LayersModel,
  data: ArrayDataset,
  attack: AttackFn | undefined,
  o: AccuracyOptions,
  visit: (flags: boolean[], labels: Int32Array) => void,
): number {
  const n = Math.min(o.n ?? data.size, data.size);
  for (const idx of batchIndices(n, o.batchSize ?? 256)) {
    const { x, y } = data.batch(idx);
    const xe = attack ? attack(model, x, y) : x;
    visit(correctFlags(model, xe, y), y.dataSync() as Int32Array);
    if (xe !== x) xe.dispose();
    x.dispose();
    y.dispose();
  }
  return n;
}

/**
 * Per example among the first n (in order): 1 when the prediction on `attack(x)` (or x, without
 * attack) is correct, else 0. `toPerImage` (per-image.ts) keeps it; `accuracyOf` gives the accuracy.
 */
export function correctness(model: tf.LayersModel, data: ArrayDataset, attack?: AttackFn, o: AccuracyOptions = {}): Uint8Array {
  const out = new Uint8Array(Math.max(0, Math.min(o.n ?? data.size, data.size)));
  let at = 0;
  visitPredictions(model, data, attack, o, (flags) => flags.forEach((ok) => (out[at++] = ok ? 1 : 0)));
  return out;
}

/** The fraction of ones among per-example flags: count / n, as `accuracy` computes it (0 for none). */
export function accuracyOf(flags: ArrayLike<boolean | number>): number {
  let correct = 0;
  for (let i = 0; i < flags.length; i++) if (flags[i]) correct++;
  return correct / Math.max(1, flags.length);
}

/** Fraction of examples whose prediction on `attack(x)` (or x, without attack) is correct. */
export function accuracy(model: tf.LayersModel, data: ArrayDataset, attack?: AttackFn, o: AccuracyOptions = {}): number {
  return accuracyOf(correctness(model, data, attack, o));
}

/**
 * Accuracy per class (CFA's class-wise robustness): entry k is the fraction of class-k examples
 * among the first n that are classified correctly (after `attack`); NaN for a class with none.
 */
export function classAccuracy(
  model: tf.LayersModel,
  data: ArrayDataset,
  numClasses: number,
  attack?: AttackFn,
  o: AccuracyOptions = {},
): number[] {
  const correct = new Array<number>(numClasses).fill(0);
  const total = new Array<number>(numClasses).fill(0);
  visitPredictions(model, data, attack, o, (flags, labels) =>
    flags.forEach((ok, i) => {
      total[labels[i]]++;
      if (ok) correct[labels[i]]++;
    }),
  );
  return correct.map((c, k) => (total[k] ? c / total[k] : NaN));
}
