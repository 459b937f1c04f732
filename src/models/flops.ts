/** Multiply-add FLOPs of a forward pass per example (2 FLOPs per multiply-add), from the layer shapes. */
import * as tf from '@tensorflow/tfjs';

export function forwardFlops(model: tf.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const out = layer.outputShape as number[];
    const weights = layer.getWeights();
    if (cls === 'Conv2D' && weights.length) {
      const [kh, kw, cin, cout] = weights[0].shape;
      flops += 2 * kh * kw * cin * cout * out[1] * out[2];
    } else if (cls === 'Dense' && weights.length) {
      const [i, o] = weights[0].shape;
      flops += 2 * i * o;
    }
  }
  return flops;
}
