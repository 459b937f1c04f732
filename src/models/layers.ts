/**
 * Building blocks shared by the conv nets, in tfjs's standard layers only (so any tfjs runtime
 * loads the saved model.json without custom classes).
 */
import * as tf from '@tensorflow/tfjs';

type T = tf.SymbolicTensor;

/** Layers whose weights never change (input normalisation); PIAT and optimisers leave them alone. */
export const FROZEN_PREFIX = 'frozen_';

/**
 * Conv as PyTorch's nn.Conv2d(padding = k // 2): 'same' for stride 1; explicit symmetric zero
 * padding then 'valid' for stride 2 (TF's 'same' would pad only bottom/right, shifting the grid).
 */
export function conv(x: T, filters: number, kernel: number, stride: number, name: string, seed: number, useBias = false): T {
  const init = tf.initializers.heNormal({ seed });
  if (stride === 1 || kernel === 1) {
    return tf.layers
      .conv2d({ filters, kernelSize: kernel, strides: stride, padding: 'same', useBias, kernelInitializer: init, name })
      .apply(x) as T;
  }
  const padded = tf.layers.zeroPadding2d({ padding: Math.floor(kernel / 2), name: `${name}_pad` }).apply(x) as T;
  return tf.layers
    .conv2d({ filters, kernelSize: kernel, strides: stride, padding: 'valid', useBias, kernelInitializer: init, name })
    .apply(padded) as T;
}

/** Batch norm with PyTorch's defaults (ε = 1e-5, running-average momentum 0.1). */
export function bn(x: T, name: string): T {
  return tf.layers.batchNormalization({ epsilon: 1e-5, momentum: 0.9, name }).apply(x) as T;
}

export function relu(x: T, name: string): T {
  return tf.layers.activation({ activation: 'relu', name }).apply(x) as T;
}

export function add(a: T, b: T, name: string): T {
  return tf.layers.add({ name }).apply([a, b]) as T;
}

export interface Normalisation {
  mean: number[];
  std: number[];
}

/** CIFAR-10 channel statistics, for models trained with normalisation inside the forward pass. */
export const CIFAR10_NORMALISATION: Normalisation = { mean: [0.4914, 0.4822, 0.4465], std: [0.2471, 0.2435, 0.2616] };

/**
 * (x − mean)/std per channel inside the model, as a frozen 1×1 convolution with a diagonal kernel:
 * a standard layer, and its input gradient uses a kernel every backend has.
 */
export function normalise(x: T, channels: number, n: Normalisation): { out: T; init: (m: tf.LayersModel) => void } {
  const name = `${FROZEN_PREFIX}normalise`;
  const out = tf.layers.conv2d({ filters: channels, kernelSize: 1, useBias: true, trainable: false, name }).apply(x) as T;
  const init = (m: tf.LayersModel) => {
    const layer = m.getLayer(name);
    const k = new Float32Array(channels * channels);
    for (let c = 0; c < channels; c++) k[c * channels + c] = 1 / n.std[c];
    layer.setWeights([tf.tensor4d(k, [1, 1, channels, channels]), tf.tensor1d(n.mean.map((m, c) => -m / n.std[c]))]);
  };
  return { out, init };
}

/** Trainable parameter count (what papers publish: BN running statistics are buffers, not parameters). */
export function countTrainable(m: tf.LayersModel): number {
  return m.trainableWeights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}
