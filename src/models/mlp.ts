/**
 * Multi-layer perceptron (the toy example's one-hidden-layer network). A tfjs LayersModel, so
 * checkpoints use tfjs's model.json + weights.bin format.
 */
import * as tf from '@tensorflow/tfjs';

export interface MlpOptions {
  inputDim: number;
  numClasses: number;
  /** hidden layer widths; the toy example uses one hidden layer */
  hidden: number[];
  activation?: 'relu' | 'tanh';
  /** batch normalisation after each hidden layer (its running statistics are part of PIAT's interpolation) */
  batchNorm?: boolean;
  seed: number;
  /** image input shape (e.g. [28, 28, 1]); flattened inside the model. Default: [inputDim] */
  inputShape?: number[];
}

export function mlp(o: MlpOptions): tf.LayersModel {
  const input = tf.input({ shape: o.inputShape ?? [o.inputDim] });
  let h: tf.SymbolicTensor = o.inputShape && o.inputShape.length > 1 ? (tf.layers.flatten().apply(input) as tf.SymbolicTensor) : input;
  o.hidden.forEach((units, i) => {
    h = tf.layers
      .dense({ units, kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + i }), name: `dense_${i}` })
      .apply(h) as tf.SymbolicTensor;
    if (o.batchNorm) h = tf.layers.batchNormalization({ name: `bn_${i}` }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.activation({ activation: o.activation ?? 'relu' }).apply(h) as tf.SymbolicTensor;
  });
  const logits = tf.layers
    .dense({
      units: o.numClasses,
      kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + o.hidden.length }),
      name: 'logits',
    })
    .apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'mlp' });
}
