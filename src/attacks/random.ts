/**
 * The seeded draws of attack and objective starts (PGD's uniform start, TRADES's small noise).
 * tfjs draws them in JavaScript and uploads them; a backend may plug in a draw made on its device
 * (the torch backend's, with the fused model: src/backend/torch/device-random.ts), which then
 * replaces tfjs's for every seeded draw. An unseeded draw always stays tfjs's.
 */
import * as tf from '@tensorflow/tfjs';

/** A backend's seeded float32 draw on its device, or null where it does not apply. */
export type DeviceDraw = (dist: 'uniform' | 'normal', shape: number[], a: number, b: number, seed: number) => tf.Tensor | null;
let deviceDraw: DeviceDraw | null = null;

/** Plugs a backend's device draw into randomUniform and randomNormal below. */
export function setDeviceDraw(f: DeviceDraw | null): void {
  deviceDraw = f;
}

/** Uniform in [lo, hi): the backend's device draw where one is plugged in and `seed` is given, tfjs's otherwise. */
export function randomUniform(shape: number[], lo: number, hi: number, seed?: number): tf.Tensor {
  return (seed !== undefined && deviceDraw?.('uniform', shape, lo, hi, seed)) || tf.randomUniform(shape, lo, hi, 'float32', seed);
}

/** Normal with mean and standard deviation: the backend's device draw where one is plugged in and `seed` is given, tfjs's otherwise. */
export function randomNormal(shape: number[], mean: number, std: number, seed?: number): tf.Tensor {
  return (seed !== undefined && deviceDraw?.('normal', shape, mean, std, seed)) || tf.randomNormal(shape, mean, std, 'float32', seed);
}
