/**
 * Weight averaging, to compare with PIAT (which is not averaging: src/piat/): they average the weights *without* feeding the
 * average back into training (PIAT trains on from the interpolated weights).
 *   ema: θ̄ ← d·θ̄ + (1 − d)·θ after every step (decay d, default 0.999)
 *   swa: θ̄ = mean of the end-of-epoch weights from `startEpoch` on (Izmailov et al. 2018; the
 *        weight smoothing of KDSWA without its distillation)
 * BN running statistics are averaged like every other weight (no re-estimation pass).
 */
import * as tf from '@tensorflow/tfjs';
import { HookContext, TrainerHook } from '../train/hooks';
import { FROZEN_PREFIX } from '../models/layers';
import { oneOf, PiatError } from '../util/errors';

export interface AveragingOptions {
  kind: 'ema' | 'swa';
  /** EMA decay per step (default 0.999) */
  decay?: number;
  /** SWA: first epoch (0-based) whose weights enter the average (default 0) */
  startEpoch?: number;
}

/**
 * avg·(1 − w) + θ·w for every weight of `model` (frozen input normalisation copied, not blended);
 * a copy of θ when there is no average yet. Disposes the previous average.
 */
export function blendWeights(avg: tf.Tensor[] | null, model: tf.LayersModel, weightOfNew: number): tf.Tensor[] {
  const ws = model.weights.map((w) => w.read());
  if (!avg) return ws.map((w) => tf.clone(w));
  const next = tf.tidy(() =>
    avg.map((a, i) =>
      model.weights[i].originalName.startsWith(FROZEN_PREFIX)
        ? tf.clone(a)
        : tf.add(tf.mul(a, 1 - weightOfNew), tf.mul(ws[i], weightOfNew)),
    ),
  );
  tf.dispose(avg);
  return next;
}

/** Holds an average of the weights for the trainer to evaluate, save and hand back on resume. */
export abstract class AveragedWeightsHook implements TrainerHook {
  abstract readonly name: string;
  abstract readonly config: Record<string, unknown>;
  protected avg: tf.Tensor[] | null = null;

  averagedWeights(): tf.Tensor[] | null {
    return this.avg;
  }

  restoreAveraged(weights: tf.Tensor[]): void {
    tf.dispose(this.avg ?? []);
    this.avg = weights.map((w) => tf.clone(w));
  }

  dispose(): void {
    tf.dispose(this.avg ?? []);
    this.avg = null;
  }
}

export class WeightAveragingHook extends AveragedWeightsHook {
  readonly name: string;
  readonly kind: 'ema' | 'swa';
  readonly decay: number;
  readonly startEpoch: number;
  private count = 0;

  constructor(o: AveragingOptions) {
    super();
    this.kind = oneOf('averaging kind', o.kind, ['ema', 'swa'] as const);
    this.name = this.kind;
    this.decay = o.decay ?? 0.999;
    this.startEpoch = o.startEpoch ?? 0;
    if (!(this.decay >= 0 && this.decay < 1)) throw new PiatError('bad-option', `EMA decay must be in [0, 1), got ${o.decay}`);
  }

  get config() {
    return this.kind === 'ema' ? { kind: 'ema', decay: this.decay } : { kind: 'swa', startEpoch: this.startEpoch };
  }

  private fold(model: tf.LayersModel, weightOfNew: number): void {
    this.avg = blendWeights(this.avg, model, weightOfNew);
  }

  onStepEnd({ model }: HookContext): void {
    if (this.kind === 'ema') this.fold(model, 1 - this.decay);
  }

  onEpochEnd({ model, epoch }: HookContext): Record<string, number | null> {
    if (this.kind === 'swa' && epoch >= this.startEpoch) {
      this.count++;
      this.fold(model, 1 / this.count);
    }
    return { averaged: this.avg ? (this.kind === 'swa' ? this.count : 1) : 0 };
  }

  state() {
    return { count: this.count };
  }

  restore(s: Record<string, unknown>): void {
    this.count = Number(s.count ?? 0);
  }
}

export const ema = (decay = 0.999) => new WeightAveragingHook({ kind: 'ema', decay });
export const swa = (startEpoch = 0) => new WeightAveragingHook({ kind: 'swa', startEpoch });
