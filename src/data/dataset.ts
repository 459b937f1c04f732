/**
 * An in-memory labelled dataset. Features stay in their compact storage type (uint8 for images,
 * float32 for toy data) until a batch is built, so large image sets fit comfortably in memory.
 */
import * as tf from '@tensorflow/tfjs';
import { PiatError } from '../util/errors';
import { Rng } from '../util/rng';

export interface Batch {
  /** float32, values in [0, 1], shape [n, ...inputShape] */
  x: tf.Tensor;
  /** int32 class indices, shape [n] */
  y: tf.Tensor1D;
}

/**
 * Training-time augmentation for images in HWC layout: random crop after zero padding by `crop`
 * pixels, and random horizontal flip (the paper's CIFAR/SVHN setting: crop 4, flip; digits: no flip).
 */
export interface Augmentation {
  crop?: number;
  flip?: boolean;
}

export class ArrayDataset {
  readonly size: number;
  readonly featureSize: number;
  /** applied by batch() when it is given an Rng (training batches) */
  augmentation: Augmentation | null = null;

  /**
   * @param features row-major [size, ...inputShape]; uint8 values are divided by 255 on batching
   * @param labels class index per example, in [0, numClasses)
   */
  constructor(
    readonly name: string,
    readonly features: Float32Array | Uint8Array,
    readonly labels: Int32Array | Uint8Array,
    readonly inputShape: number[],
    readonly numClasses: number,
    /** skip the value checks (for views of an already checked dataset) */
    checked = false,
  ) {
    this.size = labels.length;
    this.featureSize = inputShape.reduce((a, b) => a * b, 1);
    if (features.length !== this.size * this.featureSize) {
      throw new PiatError(
        'bad-shape',
        `Dataset '${name}': ${features.length} feature values do not match ${this.size} labels × ` +
          `input shape [${inputShape}] (= ${this.size * this.featureSize}).`,
      );
    }
    if (checked) return;
    if (features instanceof Float32Array) {
      // A NaN pixel would otherwise be clipped away by an attack and train silently on garbage.
      const bad = features.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new PiatError(
          'bad-value',
          `Dataset '${name}': feature ${bad % this.featureSize} of example ${Math.floor(bad / this.featureSize)} is ${features[bad]}.`,
        );
      }
    }
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] >= numClasses || !Number.isInteger(labels[i])) {
        throw new PiatError('bad-label', `Dataset '${name}': label ${labels[i]} at index ${i} is outside [0, ${numClasses}).`);
      }
    }
  }

  /**
   * The float32 batch for the given example indices; the caller owns (disposes) the tensors.
   * With `rng` and an augmentation set, each example is randomly cropped / flipped.
   */
  batch(indices: ArrayLike<number>, rng?: Rng): Batch {
    const n = indices.length;
    const d = this.featureSize;
    const x = new Float32Array(n * d);
    const y = new Int32Array(n);
    const scale = this.features instanceof Uint8Array ? 1 / 255 : 1;
    const aug = rng && this.augmentation && (this.augmentation.crop || this.augmentation.flip) ? this.augmentation : null;
    for (let i = 0; i < n; i++) {
      const src = indices[i] * d;
      if (aug) this.augmentInto(x, i * d, src, scale, aug, rng as Rng);
      else if (scale === 1) x.set(this.features.subarray(src, src + d), i * d);
      else for (let j = 0; j < d; j++) x[i * d + j] = this.features[src + j] * scale;
      y[i] = this.labels[indices[i]];
    }
    return { x: tf.tensor(x, [n, ...this.inputShape], 'float32'), y: tf.tensor1d(y, 'int32') };
  }

  /** Copies one HWC image with a random shift in [-crop, crop] (zero fill) and optional flip. */
  private augmentInto(out: Float32Array, dst: number, src: number, scale: number, aug: Augmentation, rng: Rng): void {
    if (this.inputShape.length !== 3)
      throw new PiatError(
        'bad-option',
        `Dataset '${this.name}': crop/flip augmentation needs HWC images, input shape is [${this.inputShape}].`,
      );
    const [h, w, c] = this.inputShape;
    const p = aug.crop ?? 0;
    const dy = p ? rng.int(2 * p + 1) - p : 0;
    const dx = p ? rng.int(2 * p + 1) - p : 0;
    const flip = aug.flip ? rng.next() < 0.5 : false;
    const f = this.features;
    for (let yy = 0; yy < h; yy++) {
      const sy = yy + dy;
      for (let xx = 0; xx < w; xx++) {
        const sx = (flip ? w - 1 - xx : xx) + dx;
        const o = dst + (yy * w + xx) * c;
        if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
          for (let k = 0; k < c; k++) out[o + k] = 0;
        } else {
          const s = src + (sy * w + sx) * c;
          for (let k = 0; k < c; k++) out[o + k] = f[s + k] * scale;
        }
      }
    }
  }

  /** The same data with training-time augmentation (a new view; the features are shared). */
  withAugmentation(aug: Augmentation): ArrayDataset {
    const ds = new ArrayDataset(this.name, this.features, this.labels, this.inputShape, this.numClasses, true);
    ds.augmentation = aug;
    return ds;
  }

  /** The first `n` examples (or all) as one batch. */
  head(n = this.size): Batch {
    return this.batch(range(Math.min(n, this.size)));
  }

  /** A new dataset holding the first `n` examples (views, no copy). */
  take(n: number): ArrayDataset {
    return this.slice(0, n);
  }

  /** Examples [start, end) as a new dataset (views, no copy; e.g. a held-out validation tail). */
  slice(start: number, end = this.size): ArrayDataset {
    const a = Math.max(0, Math.min(start, this.size));
    const b = Math.max(a, Math.min(end, this.size));
    const ds = new ArrayDataset(
      this.name,
      this.features.subarray(a * this.featureSize, b * this.featureSize),
      this.labels.subarray(a, b),
      this.inputShape,
      this.numClasses,
      true,
    );
    ds.augmentation = this.augmentation;
    return ds;
  }
}

export function range(n: number): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  return r;
}

/**
 * Splits 0..size-1 into batches of `batchSize` indices, shuffled by `rng` when given. The last
 * batch may be smaller unless `dropLast`.
 */
export function batchIndices(size: number, batchSize: number, rng?: Rng, dropLast = false): Int32Array[] {
  if (!(batchSize >= 1)) throw new PiatError('bad-option', `batchSize must be >= 1, got ${batchSize}`);
  const order = rng ? rng.permutation(size) : range(size);
  const out: Int32Array[] = [];
  for (let i = 0; i < size; i += batchSize) {
    const b = order.subarray(i, Math.min(size, i + batchSize));
    if (dropLast && b.length < batchSize) break;
    out.push(b);
  }
  return out;
}
