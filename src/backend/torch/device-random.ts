/**
 * Seeded random starts drawn on the device, with the fused model (`PIAT_FUSED_MODEL=1`, unless
 * `PIAT_DEVICE_RANDOM=0`, which keeps tfjs's draws to compare the model paths alone): PGD's
 * uniform start and TRADES's small noise run as one native `PiatRandom` call on a generator seeded
 * by the attack's seed alone, where tfjs draws them in JavaScript (a few milliseconds per batch)
 * and uploads them (on a GPU, a blocking copy). The numbers are libtorch's, not tfjs's, so like the
 * fused model this is opt-in and the default path keeps tfjs's draws.
 */
import * as tf from '@tensorflow/tfjs';
import { setDeviceDraw } from '../../attacks/random';
import { fusedModelEnabled } from './fused-model';

export const RANDOM_KERNEL = 'PiatRandom';

let installed = false;

/** Plugs the device draw into the attacks' seeded draws (src/attacks/random.ts). */
export function installDeviceRandom(): void {
  if (installed) return;
  installed = true;
  setDeviceDraw((dist, shape, a, b, seed) => {
    if (!deviceRandomEnabled() || tf.getBackend() !== 'torch') return null;
    // the generator takes a 64-bit unsigned seed; tfjs seeds are any number
    const s = Math.abs(Math.trunc(seed)) % 2 ** 53;
    return tf.engine().runKernel(RANDOM_KERNEL, {}, { shape, dist, a, b, seed: s }) as tf.Tensor;
  });
}

/** Whether seeded random starts are drawn on the device: with the fused model, unless PIAT_DEVICE_RANDOM=0. */
export function deviceRandomEnabled(): boolean {
  return fusedModelEnabled() && process.env.PIAT_DEVICE_RANDOM !== '0';
}

/** Which torch path computes now, as run records and identities name it: 'per-layer', 'fused' or 'fused, host random starts'. */
export function torchPath(): 'per-layer' | 'fused' | 'fused, host random starts' {
  return !fusedModelEnabled() ? 'per-layer' : deviceRandomEnabled() ? 'fused' : 'fused, host random starts';
}
