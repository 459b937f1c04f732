import * as tf from '@tensorflow/tfjs';
import { FROZEN_PREFIX } from '../models/layers';

/**
 * Copies of every weight the model has, trainable or not (batch-norm running statistics
 * included), in `model.weights` order. The caller disposes them.
 */
export function snapshotWeights(model: tf.LayersModel): tf.Tensor[] {
  return model.weights.map((w) => tf.clone(w.read()));
}

/**
 * θ ← β·θ_prev + (1 − β)·θ for every weight of the model (Eq. 9), BN running statistics included.
 */
export function interpolateWeights(model: tf.LayersModel, prev: tf.Tensor[], beta: number): void {
  const ws = model.weights;
  if (prev.length !== ws.length) {
    throw new Error(`interpolateWeights: snapshot has ${prev.length} tensors, model has ${ws.length} weights`);
  }
  tf.tidy(() => {
    ws.forEach((w, i) => {
      if (w.dtype !== 'float32') return; // integer state (none in our models) is not averaged
      if (w.originalName.startsWith(FROZEN_PREFIX)) return; // constants (input normalisation) stay exact
      w.write(tf.add(tf.mul(prev[i], beta), tf.mul(w.read(), 1 - beta)));
    });
  });
}
