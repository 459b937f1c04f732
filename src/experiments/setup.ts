/** What the experiments' profile tables share: the data sizes and the training recipe of a run. */
import { PgdOptions } from '../attacks/pgd';
import { LrSchedule } from '../train/lr';
import { TrainConfig } from '../train/trainer';
import { wasmMicroBatch } from '../backend';

export interface TrainingSetup {
  /** first n training images (default all) */
  trainSize?: number;
  /** test images evaluated after every epoch (clean + PGD, to pick Best) */
  testSize: number;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  lrSchedule: LrSchedule;
  /** the training attack */
  attack: PgdOptions;
  /** the per-epoch evaluation attack */
  evalAttack: PgdOptions;
  /** micro-batch size where the wasm backend's 4 GiB heap needs one; other backends take whole batches */
  microBatchSize?: number;
  seed: number;
}

/** The trainer's config for a setup: SGD with momentum 0.9 and the per-epoch evaluation. */
export function trainConfigOf(c: TrainingSetup): TrainConfig {
  return {
    epochs: c.epochs,
    batchSize: c.batchSize,
    seed: c.seed,
    optimizer: { lr: c.lr, momentum: 0.9, weightDecay: c.weightDecay },
    lrSchedule: c.lrSchedule,
    eval: { n: c.testSize, attack: c.evalAttack },
    microBatchSize: c.microBatchSize === undefined ? undefined : wasmMicroBatch(c.microBatchSize),
  };
}
