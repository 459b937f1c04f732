/**
 * What every attack is: `(model, x, y) => xAdv` once its options are bound. Inputs in [0, 1]
 * (NHWC images or flat vectors), labels int32; the model runs in inference mode and its weights and
 * batch-norm statistics never change. The registry (registry.ts) names the attacks.
 */
import * as tf from '@tensorflow/tfjs';
import { logits } from '../models/forward';

/** An attack with its options bound: adversarial inputs for (x, y), same shape as x. The caller disposes them. */
export type AttackFn = (model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D) => tf.Tensor;

/** Per example: does the model (inference mode) predict its label? What every attack's success is judged by. */
export function correctFlags(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D): boolean[] {
  // read the values inside tidy: returning the tensor from tidy would keep (and leak) it
  return tf.tidy(() => Array.from(tf.equal(tf.argMax(logits(model, x, false), 1), y).dataSync()).map(Boolean));
}
