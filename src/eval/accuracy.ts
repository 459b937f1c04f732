/** Clean and robust accuracy over a dataset, batched. */
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset, batchIndices } from '../data/dataset';
import { logits } from '../models/forward';

export type AttackFn = (model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D) => tf.Tensor;

export interface AccuracyOptions {
  /** evaluate the first n examples (default all) */
  n?: number;
  batchSize?: number;
}

/** Fraction of examples whose prediction on `attack(x)` (or x, without attack) is correct. */
export function accuracy(model: tf.LayersModel, data: ArrayDataset, attack?: AttackFn, o: AccuracyOptions = {}): number {
  const n = Math.min(o.n ?? data.size, data.size);
  let correct = 0;
  for (const idx of batchIndices(n, o.batchSize ?? 256)) {
    const { x, y } = data.batch(idx);
    const xe = attack ? attack(model, x, y) : x;
    correct += tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits(model, xe, false), 1), y), 'int32')).arraySync() as number);
    if (xe !== x) xe.dispose();
    x.dispose();
    y.dispose();
  }
  return correct / Math.max(1, n);
}
