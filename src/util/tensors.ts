import * as tf from '@tensorflow/tfjs';

/**
 * Runs `fn` inside tf.tidy and returns the values of the tensors it makes, read after the scope
 * closes. Reading them inside the callback and returning the typed arrays costs a walk over every
 * value: tf.tidy searches whatever its callback returns for tensors, element by element.
 */
export function tidyValues(fn: () => tf.Tensor[]): tf.TypedArray[] {
  const ts = tf.tidy(fn);
  const out = ts.map((t) => t.dataSync());
  tf.dispose(ts);
  return out;
}
