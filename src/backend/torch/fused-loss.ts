/**
 * The cross entropy as one native kernel on the torch backend, with the fused model
 * (`PIAT_FUSED_MODEL=1`): `crossEntropyPerExample` (src/attacks/losses.ts) runs as
 * `PiatCrossEntropy` (logsumexp(z) − z_y) and its logits gradient as `PiatCrossEntropyGrad`
 * ((softmax(z) − onehot(y)) · dy), where tfjs's composite takes about twenty kernels forward and
 * back. With the fused model this leaves an attack step at about a dozen native calls whatever the
 * network's depth. It is not bitwise tfjs's composite (ATen's logsumexp and a closed-form gradient),
 * so like the fused model it is opt-in and the per-op path stays the default and the reference.
 */
import * as tf from '@tensorflow/tfjs';
import { setFusedCrossEntropy } from '../../attacks/losses';
import { fusedModelEnabled } from './fused-model';

export const CROSS_ENTROPY_KERNEL = 'PiatCrossEntropy';

let installed = false;

/** Registers the fused cross entropy's gradient and plugs it into `crossEntropyPerExample`. */
export function installFusedLoss(): void {
  if (installed) return;
  installed = true;
  tf.registerGradient({
    kernelName: CROSS_ENTROPY_KERNEL,
    inputsToSave: ['logits', 'labels'],
    gradFunc: (dy, saved) => {
      const [logits, labels] = saved;
      return {
        logits: () => tf.engine().runKernel('PiatCrossEntropyGrad', { dy: dy as tf.Tensor, logits, labels }) as tf.Tensor,
        labels: () => tf.zerosLike(labels),
      };
    },
  });
  setFusedCrossEntropy(fusedCrossEntropy);
}

/** The per-example cross entropy as one native call, or null where the composite runs. */
function fusedCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D | null {
  if (!fusedModelEnabled() || tf.getBackend() !== 'torch' || logits.dtype !== 'float32') return null;
  return tf.engine().runKernel(CROSS_ENTROPY_KERNEL, { logits, labels }) as tf.Tensor1D;
}
