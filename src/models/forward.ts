import * as tf from '@tensorflow/tfjs';

/**
 * A backend's whole-model forward pass (the torch backend's, behind PIAT_FUSED_MODEL=1:
 * src/backend/torch/fused-model.ts), installed by the backend; null where the per-layer path runs.
 */
export type FusedForward = (model: tf.LayersModel, x: tf.Tensor, training: boolean) => tf.Tensor2D | null;
let fused: FusedForward | null = null;

/** Installs (or, with null, removes) the fused forward pass that `logits` tries first. */
export function setFusedForward(f: FusedForward | null): void {
  fused = f;
}

/**
 * Logits of `model` on `x`. `training` selects batch statistics (true) or running statistics
 * (false) in batch norm; with `training` true, batch norm also updates its running statistics.
 * Attacks and evaluation always use training = false.
 */
export function logits(model: tf.LayersModel, x: tf.Tensor, training = false): tf.Tensor2D {
  const out = fused?.(model, x, training);
  if (out) return out;
  return model.apply(x, { training }) as tf.Tensor2D;
}
