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

/** Per example: does the model (inference mode) predict its label? */
export function correctFlags(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D): boolean[] {
  // read the values inside tidy: returning the tensor from tidy would keep (and leak) it
  return tf.tidy(() => Array.from(tf.equal(tf.argMax(logits(model, x, false), 1), y).dataSync()).map(Boolean));
}

/** Fraction of examples whose prediction on `attack(x)` (or x, without attack) is correct. */
export function accuracy(model: tf.LayersModel, data: ArrayDataset, attack?: AttackFn, o: AccuracyOptions = {}): number {
  const n = Math.min(o.n ?? data.size, data.size);
  let correct = 0;
  for (const idx of batchIndices(n, o.batchSize ?? 256)) {
    const { x, y } = data.batch(idx);
    const xe = attack ? attack(model, x, y) : x;
    correct += correctFlags(model, xe, y).filter(Boolean).length;
    if (xe !== x) xe.dispose();
    x.dispose();
    y.dispose();
  }
  return correct / Math.max(1, n);
}
