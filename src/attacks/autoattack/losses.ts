/** The losses AutoAttack optimises, per example (Croce & Hein 2020). */
import * as tf from '@tensorflow/tfjs';

/**
 * The logits at the k largest positions, descending, as a differentiable [n, k] tensor. tfjs has
 * no gradient for TopK; the sort only chooses positions, so the indices are taken as constants
 * (read back from the op) and the values are gathered through one-hot products.
 */
export function sortedLogits(z: tf.Tensor2D, k: number): { values: tf.Tensor2D; indices: tf.Tensor2D } {
  return tf.tidy(() => {
    const idx = tf.topk(z, k).indices;
    const indices = tf.tensor2d(idx.dataSync() as Int32Array, idx.shape as [number, number], 'int32');
    const cols = Array.from({ length: k }, (_, j) =>
      tf.sum(tf.mul(z, tf.oneHot(indices.slice([0, j], [-1, 1]).reshape([-1]) as tf.Tensor1D, z.shape[1])), 1),
    );
    return { values: tf.stack(cols, 1) as tf.Tensor2D, indices };
  });
}

/**
 * DLR: −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e-12), z_π sorted descending.
 * Shift- and scale-invariant in the logits, unlike CE.
 */
export function dlrLoss(z: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const { values, indices } = sortedLogits(z, 3);
    const top = (k: number) => values.slice([0, k], [-1, 1]).reshape([-1]);
    const zy = tf.sum(tf.mul(z, tf.oneHot(y, z.shape[1])), 1);
    const yIsTop = tf.cast(tf.equal(indices.slice([0, 0], [-1, 1]).reshape([-1]), y), 'float32');
    const other = tf.add(tf.mul(top(1), yIsTop), tf.mul(top(0), tf.sub(1, yIsTop)));
    return tf.neg(tf.div(tf.sub(zy, other), tf.add(tf.sub(top(0), top(2)), 1e-12))) as tf.Tensor1D;
  });
}

/** Targeted DLR: −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 1e-12). Needs at least 4 classes. */
export function dlrTargetedLoss(z: tf.Tensor2D, y: tf.Tensor1D, target: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const { values } = sortedLogits(z, 4);
    const top = (k: number) => values.slice([0, k], [-1, 1]).reshape([-1]);
    const k = z.shape[1];
    const zy = tf.sum(tf.mul(z, tf.oneHot(y, k)), 1);
    const zt = tf.sum(tf.mul(z, tf.oneHot(target, k)), 1);
    const denom = tf.add(tf.sub(top(0), tf.mul(tf.add(top(2), top(3)), 0.5)), 1e-12);
    return tf.neg(tf.div(tf.sub(zy, zt), denom)) as tf.Tensor1D;
  });
}
