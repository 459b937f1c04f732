/** Per-example losses that attacks maximise and objectives minimise. All return shape [n]. */
import * as tf from '@tensorflow/tfjs';

/** A backend's one-kernel cross entropy (the torch backend's fused loss), or null where it does not apply. */
type FusedCrossEntropy = (logits: tf.Tensor2D, labels: tf.Tensor1D) => tf.Tensor1D | null;
let fusedCrossEntropy: FusedCrossEntropy | null = null;

/** Plugs a backend's one-kernel cross entropy into crossEntropyPerExample (src/backend/torch/fused-loss.ts). */
export function setFusedCrossEntropy(f: FusedCrossEntropy | null): void {
  fusedCrossEntropy = f;
}

/** Cross entropy of softmax(logits) against integer labels: logsumexp(z) − z_y. */
export function crossEntropyPerExample(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  const fused = fusedCrossEntropy?.(logits, labels);
  if (fused) return fused;
  return tf.tidy(() => {
    const k = logits.shape[1];
    const zy = tf.sum(tf.mul(logits, tf.oneHot(labels, k)), 1);
    return tf.sub(tf.logSumExp(logits, 1), zy) as tf.Tensor1D;
  });
}

/** Mean cross entropy over the batch. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(crossEntropyPerExample(logits, labels)) as tf.Scalar);
}

/** CW margin: max_{j≠y} z_j − z_y (positive once the example is misclassified). */
export function marginPerExample(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const k = logits.shape[1];
    const onehot = tf.oneHot(labels, k);
    const zy = tf.sum(tf.mul(logits, onehot), 1);
    // push the true class far down so max picks the best other class
    const others = tf.max(tf.sub(logits, tf.mul(onehot, 1e9)), 1);
    return tf.sub(others, zy) as tf.Tensor1D;
  });
}

/** Per-example KL(p ‖ q) = Σ_k p_k (log p_k − log q_k), from logits (p: clean, q: adversarial). */
export function klPerExample(zP: tf.Tensor2D, zQ: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(zP);
    return tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, tf.logSoftmax(zQ))), 1) as tf.Tensor1D;
  });
}

export type AttackLossName = 'ce' | 'margin';
export type PerExampleLoss = (logits: tf.Tensor2D, labels: tf.Tensor1D) => tf.Tensor1D;

export const ATTACK_LOSSES: Record<AttackLossName, PerExampleLoss> = {
  ce: crossEntropyPerExample,
  margin: marginPerExample,
};
