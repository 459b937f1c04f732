/**
 * Routes two tfjs-core ops that tfjs-layers calls to gradient-friendly forms while a gradient tape
 * is recording (on the wasm and cpu backends):
 *
 * - `fused.conv2d` (every Conv2D layer) has a custom gradient that always computes the filter
 *   gradient, even when only the input gradient is wanted (every attack step): half the backward
 *   time of an input gradient was wasted. Plain conv2d + bias + activation lets the engine compute
 *   only the gradients on the path to what is differentiated.
 * - `batchNorm4d/3d/2d` back-propagate through `Tile` broadcasts (≈ 20 % of an input gradient on
 *   wasm); written as x·a + b with a = γ/√(σ²+ε), b = β − μ·a, the gradient is a few
 *   broadcast multiplies and sums.
 *
 * Without a tape (inference, evaluation) the original fused kernels run: they are faster forward.
 * tfjs-layers reads these functions from tfjs-core's exports at call time, so replacing the export
 * is enough. PIAT_TAPE_FRIENDLY_OPS=0 turns this off.
 */
import * as tf from '@tensorflow/tfjs';

type FusedConvArgs = Parameters<typeof tf.fused.conv2d>[0];

/** Whether a gradient tape is recording (the fused paths in torch/fused-ops.ts ask too). */
export function recording(): boolean {
  return (tf.engine() as unknown as { state: { activeTape: unknown[] | null } }).state.activeTape != null;
}

function activate(y: tf.Tensor, activation: FusedConvArgs['activation']): tf.Tensor {
  switch (activation ?? 'linear') {
    case 'linear':
      return y;
    case 'relu':
      return tf.relu(y);
    case 'relu6':
      return tf.relu6(y);
    case 'elu':
      return tf.elu(y);
    case 'sigmoid':
      return tf.sigmoid(y);
    default:
      return y; // not reached: other activations take the fused path below
  }
}

let installed = false;

/** tfjs-core's own exports object (TypeScript's `import * as` would give a read-only copy). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const core = require('@tensorflow/tfjs-core') as Record<string, unknown> & { fused: Record<string, unknown> };

export function installTapeFriendlyOps(): void {
  if (installed || process.env.PIAT_TAPE_FRIENDLY_OPS === '0') return;
  installed = true;
  const fused = core.fused as unknown as { conv2d: typeof tf.fused.conv2d };
  const originalConv = fused.conv2d;
  fused.conv2d = ((args: FusedConvArgs) => {
    const simple =
      !args.preluActivationWeights && (args.activation ?? 'linear') !== 'leakyrelu' && (args.activation ?? 'linear') !== 'prelu';
    if (!recording() || !simple || (args.dataFormat ?? 'NHWC') !== 'NHWC') return originalConv(args);
    return tf.tidy(() => {
      let y: tf.Tensor = tf.conv2d(
        args.x as tf.Tensor4D,
        args.filter as tf.Tensor4D,
        args.strides,
        args.pad,
        'NHWC',
        args.dilations,
        args.dimRoundingMode,
      );
      if (args.bias) y = tf.add(y, args.bias);
      return activate(y, args.activation);
    });
  }) as typeof tf.fused.conv2d;

  const mutable = core;
  for (const name of ['batchNorm', 'batchNorm2d', 'batchNorm3d', 'batchNorm4d']) {
    const original = mutable[name] as (...a: unknown[]) => tf.Tensor;
    mutable[name] = (x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, offset?: tf.Tensor, scale?: tf.Tensor, eps = 0.001) => {
      if (!recording()) return original(x, mean, variance, offset, scale, eps);
      return tf.tidy(() => {
        let a = tf.rsqrt(tf.add(variance, eps));
        if (scale) a = tf.mul(a, scale);
        let b = tf.neg(tf.mul(mean, a));
        if (offset) b = tf.add(b, offset);
        return tf.add(tf.mul(x, a), b);
      });
    };
  }
}
