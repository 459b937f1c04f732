/** Clean and robust accuracy over a dataset, batched. */
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset, batchIndices } from '../data/dataset';
import { AttackFn, correctFlags } from '../attacks/contract';

// fab.ts still imports correctFlags from here (its owner moves it to ../contract)
export { correctFlags };
export type { AttackFn };

export interface AccuracyOptions {
  /** evaluate the first n examples (default all) */
  n?: number;
  batchSize?: number;
}

/** Runs `attack` (if any) batch by batch over the first n examples and hands each batch's correctness flags and labels to `visit`. */
function visitPredictions(model: tf.LayersModel, data: ArrayDataset, attack: AttackFn | undefined, o: AccuracyOptions, visit: (flags: boolean[], labels: Int32Array) => void): number {
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

/** Fraction of examples whose prediction on `attack(x)` (or x, without attack) is correct. */
export function accuracy(model: tf.LayersModel, data: ArrayDataset, attack?: AttackFn, o: AccuracyOptions = {}): number {
  let correct = 0;
  const n = visitPredictions(model, data, attack, o, (flags) => (correct += flags.filter(Boolean).length));
  return correct / Math.max(1, n);
}

/**
 * Accuracy per class (CFA's class-wise robustness): entry k is the fraction of class-k examples
 * among the first n that are classified correctly (after `attack`); NaN for a class with none.
 */
export function classAccuracy(model: tf.LayersModel, data: ArrayDataset, numClasses: number, attack?: AttackFn, o: AccuracyOptions = {}): number[] {
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
