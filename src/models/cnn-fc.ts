/**
 * The small CNN of TRADES' MNIST experiments (Zhang et al. 2019, `SmallCNN`): four 3×3 'valid'
 * convolutions (32, 32, max-pool, 64, 64, max-pool) and a fully connected head 200 → 200 → classes.
 * Here with batch norm after each convolution and without the head's dropout: its flattened head
 * (≈ 0.3 M parameters on 28×28 inputs) can memorise a small training set, adversarial examples
 * included, where the global-average-pooled `small-cnn` cannot — the overfit profile needs that.
 */
import * as tf from '@tensorflow/tfjs';
import { bn, relu } from './layers';
import { PiatError } from '../util/errors';

type T = tf.SymbolicTensor;

/** The fully connected head's width in TRADES' code. */
export const CNN_FC_HIDDEN = 200;

export interface CnnFcOptions {
  numClasses: number;
  /** default [28, 28, 1] */
  inputShape?: [number, number, number];
  /** the four convolutions' widths (default [32, 32, 64, 64]) and the two hidden layers' (default CNN_FC_HIDDEN) */
  widths?: [number, number, number, number];
  hidden?: number;
  seed: number;
}

export function cnnFc(o: CnnFcOptions): tf.LayersModel {
  const [a, b, c, d] = o.widths ?? [32, 32, 64, 64];
  const hidden = o.hidden ?? CNN_FC_HIDDEN;
  let seed = o.seed;
  const shape = o.inputShape ?? [28, 28, 1];
  // two (valid conv, valid conv, pool) stages take a side s to ((s − 4)/2 − 4)/2: it must stay ≥ 1
  if (Math.min(shape[0], shape[1]) < 16)
    throw new PiatError(
      'bad-config',
      `cnn-fc needs images of at least 16×16 pixels (its four unpadded 3×3 convolutions and two 2×2 pools); got ${shape[0]}×${shape[1]}`,
    );
  const input = tf.input({ shape });
  const conv = (x: T, filters: number, name: string) =>
    relu(
      bn(
        tf.layers
          .conv2d({
            filters,
            kernelSize: 3,
            padding: 'valid',
            useBias: false,
            kernelInitializer: tf.initializers.heNormal({ seed: seed++ }),
            name,
          })
          .apply(x) as T,
        `${name}_bn`,
      ),
      `${name}_relu`,
    );
  const pool = (x: T, name: string) => tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name }).apply(x) as T;
  const dense = (x: T, units: number, name: string, activation?: 'relu') =>
    tf.layers.dense({ units, activation, kernelInitializer: tf.initializers.heNormal({ seed: seed++ }), name }).apply(x) as T;
  let h = pool(conv(conv(input, a, 'conv1'), b, 'conv2'), 'pool1');
  h = pool(conv(conv(h, c, 'conv3'), d, 'conv4'), 'pool2');
  h = tf.layers.flatten({ name: 'flatten' }).apply(h) as T;
  h = dense(dense(h, hidden, 'fc1', 'relu'), hidden, 'fc2', 'relu');
  return tf.model({ inputs: input, outputs: dense(h, o.numClasses, 'fc'), name: 'cnn_fc' });
}
