import * as tf from '@tensorflow/tfjs';

export interface HookContext {
  model: tf.LayersModel;
  /** 0-based epoch index */
  epoch: number;
}

/**
 * Something that runs around each training epoch (PIAT, weight averaging, ...). Hooks keep
 * their own state; `state()`/`restore()` let a resumed run continue exactly.
 */
export interface TrainerHook {
  readonly name: string;
  readonly config: Record<string, unknown>;
  onEpochStart?(ctx: HookContext): void;
  /** Runs after the epoch's SGD steps, before evaluation; returns fields for the epoch record. */
  onEpochEnd?(ctx: HookContext): Record<string, number | null> | void;
  /** Runs after every optimisation step (EMA). */
  onStepEnd?(ctx: HookContext): void;
  state?(): Record<string, unknown>;
  restore?(state: Record<string, unknown>): void;
  /**
   * Weight averaging (SWA, EMA): weights to evaluate and to save as the run's averaged model, in
   * `model.weights` order; null before averaging starts. The trainer saves them to averaged/ and
   * hands them back through restoreAveraged on resume.
   */
  averagedWeights?(): tf.Tensor[] | null;
  restoreAveraged?(weights: tf.Tensor[]): void;
  dispose?(): void;
}
