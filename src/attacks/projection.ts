/**
 * Norms and the projection onto the threat model's ball, shared by every iterative attack (PGD and
 * its family, APGD, A&P's attack).
 */
import * as tf from '@tensorflow/tfjs';

export type Norm = 'linf' | 'l2';

/** Per-example norm over all non-batch axes, shaped [n, 1, …] to broadcast against t. */
export function perExampleNorm(t: tf.Tensor, norm: Norm): tf.Tensor {
  const axes = t.shape.slice(1).map((_, i) => i + 1);
  return norm === 'linf' ? tf.max(tf.abs(t), axes, true) : tf.sqrt(tf.sum(tf.square(t), axes, true));
}

/** t scaled to unit norm per example (the 1e-12 keeps a zero row finite). */
export function toUnitNorm(t: tf.Tensor, norm: Norm): tf.Tensor {
  return tf.div(t, tf.add(perExampleNorm(t, norm), 1e-12));
}

/**
 * Projects x onto B(x0, ε) in the given norm, then onto [lo, hi]. `eps` is a number or a
 * per-example radius shaped to broadcast against x (CFA's class-wise ε).
 */
export function project(x: tf.Tensor, x0: tf.Tensor, eps: number | tf.Tensor, norm: Norm, clip: [number, number]): tf.Tensor {
  return tf.tidy(() => {
    let delta = tf.sub(x, x0);
    if (norm === 'linf')
      delta = typeof eps === 'number' ? tf.clipByValue(delta, -eps, eps) : tf.minimum(tf.maximum(delta, tf.neg(eps)), eps);
    else delta = tf.mul(delta, tf.minimum(1, tf.div(eps, tf.add(perExampleNorm(delta, 'l2'), 1e-12))));
    return tf.clipByValue(tf.add(x0, delta), clip[0], clip[1]);
  });
}
