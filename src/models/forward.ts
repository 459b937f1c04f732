import * as tf from '@tensorflow/tfjs';

/**
 * Logits of `model` on `x`. `training` selects batch statistics (true) or running statistics
 * (false) in batch norm; with `training` true, batch norm also updates its running statistics.
 * Attacks and evaluation always use training = false.
 */
export function logits(model: tf.LayersModel, x: tf.Tensor, training = false): tf.Tensor2D {
  return model.apply(x, { training }) as tf.Tensor2D;
}
