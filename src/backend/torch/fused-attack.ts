/**
 * The attacks' inner step on the fused path (`PIAT_FUSED_MODEL=1`): in pgd() (src/attacks/pgd.ts),
 * the input gradient of the summed cross entropy is one native call (`modelInputGrad`: the eval-mode
 * forward pass with only the input as a leaf, the closed-form logits gradient and libtorch's
 * backward), without a tfjs gradient tape, and the L∞ step with its projection is another
 * (`PiatLinfStep`: the composite's ATen operations in its order, so the same bits). An attack step
 * then costs two native calls and almost no JavaScript, where the tape-driven one took about a
 * dozen. The numbers are the fused path's own (the same kernels as its tf.grad); any other loss, the
 * L2 norm or a per-example radius runs the composite.
 */
import * as tf from '@tensorflow/tfjs';
import { setFusedPgd } from '../../attacks/pgd';
import { countCall, fusedBackend, fusedModelEnabled, fusedPlanFor, gateDraws } from './fused-model';

export const LINF_STEP_KERNEL = 'PiatLinfStep';

let installed = false;

/** Plugs the fused attack step into pgd() (the torch backend calls this). */
export function installFusedAttack(): void {
  if (installed) return;
  installed = true;
  setFusedPgd({ ceInputGrad, linfStep });
}

/** ∇x Σ CE(logits(model, x, false), y) in one native call, or null where the fused path does not apply. */
export function ceInputGrad(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D): tf.Tensor | null {
  const b = fusedBackend();
  const plan = fusedPlanFor(model, x);
  if (!b || !plan) return null;
  const handles = new Uint32Array(plan.weights.length + 1);
  handles[0] = b.handle(x.dataId);
  plan.weights.forEach((w, i) => (handles[i + 1] = b.handle(w.read().dataId)));
  const ops = gateDraws(plan);
  const flat = countCall(b, 'modelInputGrad', () => b.native.modelInputGrad(ops, plan.nums, handles, b.handle(y.dataId)));
  return tf.engine().makeTensorFromTensorInfo(b.adopt(flat)[0]);
}

/** xAdv + α·sign(g) projected onto B(x, ε) ∩ [lo, hi] in one native call, or null off the fused path. */
function linfStep(xAdv: tf.Tensor, g: tf.Tensor, x: tf.Tensor, alpha: number, eps: number, clip: [number, number]): tf.Tensor | null {
  if (!fusedModelEnabled() || tf.getBackend() !== 'torch' || xAdv.dtype !== 'float32') return null;
  return tf.engine().runKernel(LINF_STEP_KERNEL, { xAdv, g, x }, { alpha, eps, lo: clip[0], hi: clip[1] }) as tf.Tensor;
}
