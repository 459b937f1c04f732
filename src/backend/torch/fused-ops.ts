/**
 * Training paths PyTorch runs as one native kernel and tfjs differentiates op by op, fused on the
 * torch backend (the bench's "where the time goes" showed element-wise passes costing as much as
 * the convolutions in a ResNet-18 training step):
 *
 * - ReLU's gradient: one `threshold_backward` pass instead of dy · step(x).
 * - Batch norm in training: tfjs-layers computes `moments(x)` then `batchNorm(x, mean, variance,
 *   β, γ)`; tfjs back-propagates through both with ~15 full-size element-wise ops. Here `moments`
 *   is one native pass, and a `batchNorm` whose mean and variance are the batch moments of the same
 *   x becomes one op whose gradient is ATen's batch-norm backward (statistics included), exactly
 *   what PyTorch computes. Its gradient does not flow into the moments (they only update the
 *   running averages), so tfjs never differentiates them.
 *
 * - Batch norm with given statistics (inference mode, every attack step): the FusedBatchNorm kernel
 *   (one pass) instead of the tape-friendly x·a + b (two), with a one-pass input gradient; the
 *   gradients of the statistics and parameters stay tfjs's own, computed only when asked for.
 * - Sum and mean: their input gradient as one broadcast, where tfjs builds a full-size tensor of
 *   ones in JavaScript, copies it in and multiplies (global average pooling's backward pass).
 *
 * Everything else, and every other backend, keeps the stock (or tape-friendly) ops. The kernel test
 * checks these paths against tfjs's own gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { core, recording } from '../tape-friendly-ops';

type GradMap = Record<string, () => tf.Tensor>;
const onTorch = () => tf.getBackend() === 'torch';
const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}) =>
  tf.engine().runKernel(name, inputs as never, attrs as never) as unknown as tf.Tensor | tf.Tensor[];

/** Batch moments made by the fused `moments`: mean -> the x and variance it came from. */
const batchMoments = new WeakMap<tf.Tensor, { x: tf.Tensor; variance: tf.Tensor }>();

/**
 * Replaces the gradient of `kernel` by `fast` on the torch backend. `stock` gives the stock
 * gradient's closures, built only when called (tfjs's batch-norm gradient does work up front).
 */
function overrideGradient(
  kernel: string,
  fast: (dy: tf.Tensor, saved: tf.Tensor[], attrs: Record<string, unknown>, stock: () => GradMap) => GradMap,
) {
  const original = tf.getGradient(kernel);
  if (!original) return;
  tf.registerGradient({
    ...original,
    gradFunc: (dy, saved, attrs) => {
      if (!onTorch()) return original.gradFunc(dy, saved, attrs);
      // built anew for each closure: the engine disposes what one closure made before the next runs
      const stock = () => original.gradFunc(dy, saved, attrs);
      return fast(dy as tf.Tensor, saved, attrs as Record<string, unknown>, stock);
    },
  });
}

/** Shape of x with the reduced axes set to 1, and the number of elements each output sums. */
function reduced(x: tf.Tensor, axis: unknown): { keepShape: number[]; size: number } {
  const axes = tf.util.parseAxisParam(axis as number | number[], x.shape);
  const keepShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return { keepShape, size: axes.reduce((n, a) => n * x.shape[a], 1) };
}

let installed = false;

export function installTorchFusedOps(): void {
  if (installed || process.env.PIAT_TORCH_FUSED === '0') return;
  installed = true;

  overrideGradient('Relu', (dy, [x]) => ({ x: () => run('PiatReluGrad', { dy, x }) as tf.Tensor }));

  overrideGradient('FusedBatchNorm', (dy, [, , variance, scale], attrs, stock) => {
    const lazy = (k: string) => () => stock()[k]();
    const inputs: Record<string, tf.Tensor> = { dy, variance };
    if (scale) inputs.scale = scale;
    return {
      x: () => run('PiatBatchNormGradX', inputs, { varianceEpsilon: attrs.varianceEpsilon }) as tf.Tensor,
      mean: lazy('mean'),
      variance: lazy('variance'),
      offset: lazy('offset'),
      scale: lazy('scale'),
    };
  });
  for (const [kernel, mean] of [
    ['Sum', false],
    ['Mean', true],
  ] as const) {
    overrideGradient(kernel, (dy, [x], attrs) => {
      const { keepShape, size } = reduced(x, attrs.axis);
      // x (kept by the tape anyway) gives dx its memory layout on the native side
      return { x: () => run('PiatReduceGrad', { dy, x }, { keepShape, shape: x.shape, scale: mean ? 1 / size : 1 }) as tf.Tensor };
    });
  }

  const moments = core.moments as (x: tf.Tensor, axis?: number | number[], keepDims?: boolean) => { mean: tf.Tensor; variance: tf.Tensor };
  core.moments = (x: tf.Tensor, axis?: number | number[], keepDims = false) => {
    const axes = axis === undefined || axis === null ? null : ([] as number[]).concat(axis).map((a) => (a < 0 ? a + x.rank : a));
    const channelMoments =
      x.rank >= 2 && x.dtype === 'float32' && !keepDims && axes !== null && axes.length === x.rank - 1 && axes.every((a, i) => a === i);
    if (!onTorch() || !recording() || !channelMoments) return moments(x, axis, keepDims);
    // forward in one native pass ([2, C]: mean, variance); the gradient (rarely needed: see above) through tfjs ops
    const f = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
      const both = run('PiatMoments', { x: input }) as tf.Tensor;
      save([input, both]);
      return {
        value: both,
        gradFunc: (dy: tf.Tensor, [xs, mv]: tf.Tensor[]) => {
          const [dmean, dvar] = tf.unstack(dy);
          const n = xs.size / dmean.size;
          return tf.add(tf.div(dmean, n), tf.mul(tf.sub(xs, tf.unstack(mv)[0]), tf.mul(dvar, 2 / n)));
        },
      };
    }) as never) as (x: tf.Tensor) => tf.Tensor;
    const [mean, variance] = tf.unstack(f(x));
    batchMoments.set(mean, { x, variance });
    return { mean, variance };
  };

  for (const name of ['batchNorm', 'batchNorm2d', 'batchNorm3d', 'batchNorm4d']) {
    const previous = core[name] as (...a: unknown[]) => tf.Tensor;
    core[name] = (x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, offset?: tf.Tensor, scale?: tf.Tensor, eps = 0.001) => {
      const m = mean instanceof tf.Tensor ? batchMoments.get(mean) : undefined;
      const fusable =
        onTorch() &&
        recording() &&
        m !== undefined &&
        m.x === x &&
        m.variance === variance &&
        offset instanceof tf.Tensor &&
        scale instanceof tf.Tensor &&
        offset.rank === 1 &&
        scale.rank === 1;
      if (!fusable) {
        if (!onTorch() || !recording()) return previous(x, mean, variance, offset, scale, eps);
        // the one-pass kernel, with the one-pass input gradient registered above
        const inputs: Record<string, tf.Tensor> = { x, mean, variance };
        if (offset) inputs.offset = offset;
        if (scale) inputs.scale = scale;
        return run('FusedBatchNorm', inputs, { varianceEpsilon: eps }) as tf.Tensor;
      }
      const f = tf.customGrad(((input: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
        save([input, gamma, mean, variance]);
        return {
          value: run('PiatBatchNormTrain', { x: input, mean, variance, scale: gamma, offset: beta }, { varianceEpsilon: eps }) as tf.Tensor,
          gradFunc: (dy: tf.Tensor, [xs, g, mu, v]: tf.Tensor[]) =>
            run('PiatBatchNormTrainGrad', { dy, x: xs, mean: mu, variance: v, scale: g }, { varianceEpsilon: eps }) as tf.Tensor[],
        };
      }) as never) as (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor;
      return f(x, scale, offset);
    };
  }
}
