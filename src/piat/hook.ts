/**
 * PIAT as a trainer hook: at the end of every epoch e (after `warmupEpochs`),
 *   θ_e ← β_k·θ_{e−1} + (1 − β_k)·θ̃_e
 * where θ_{e−1} are the parameters at the start of the epoch and θ̃_e those after its SGD steps.
 * All weights are interpolated, BN running statistics included (PORT); optimizer momentum is left
 * as it is (PORT; docs/METHOD.md, "PIAT"). Wraps any objective: it is a trainer option, not a loss.
 */
import * as tf from '@tensorflow/tfjs';
import { TrainerHook } from '../train/hooks';
import { BetaSchedule, betaAt, validateSchedule } from './schedule';
import { interpolateWeights, snapshotWeights } from './interpolate';
import { PiatError } from '../util/errors';

export interface PiatOptions {
  /** default: dynamic with β_max = 0.99, a = 1, b = 10 */
  schedule?: BetaSchedule;
  /** epochs without interpolation at the start (PORT uses 10; CHOSEN default 0) */
  warmupEpochs?: number;
}

export class PiatHook implements TrainerHook {
  readonly name = 'piat';
  readonly schedule: BetaSchedule;
  readonly warmupEpochs: number;
  /** interpolations done so far (k in Eq. 10) */
  private k = 0;
  private prev: tf.Tensor[] | null = null;

  constructor(opts: PiatOptions = {}) {
    this.schedule = opts.schedule ?? { kind: 'dynamic' };
    validateSchedule(this.schedule);
    this.warmupEpochs = opts.warmupEpochs ?? 0;
    if (!(Number.isInteger(this.warmupEpochs) && this.warmupEpochs >= 0)) {
      throw new PiatError('bad-option', `warmupEpochs must be a whole number >= 0, got ${opts.warmupEpochs}`);
    }
  }

  get config() {
    return { schedule: this.schedule, warmupEpochs: this.warmupEpochs };
  }

  onEpochStart({ model }: { model: tf.LayersModel }): void {
    this.disposePrev();
    this.prev = snapshotWeights(model);
  }

  onEpochEnd({ model, epoch }: { model: tf.LayersModel; epoch: number }): Record<string, number | null> {
    if (!this.prev) throw new Error('PiatHook.onEpochEnd without onEpochStart');
    let beta: number | null = null;
    if (epoch >= this.warmupEpochs) {
      beta = betaAt(this.schedule, this.k);
      interpolateWeights(model, this.prev, beta);
      this.k++;
    }
    this.disposePrev();
    return { beta };
  }

  /** The snapshot is not saved: a resumed epoch starts from the checkpoint's weights, which are θ_{e−1}. */
  state() {
    return { k: this.k };
  }

  restore(state: Record<string, unknown>): void {
    this.k = Number(state.k ?? 0);
  }

  dispose(): void {
    this.disposePrev();
  }

  private disposePrev() {
    this.prev?.forEach((t) => t.dispose());
    this.prev = null;
  }
}

export function piat(opts: PiatOptions = {}): PiatHook {
  return new PiatHook(opts);
}
