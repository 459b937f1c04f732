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
  state?(): Record<string, unknown>;
  restore?(state: Record<string, unknown>): void;
  dispose?(): void;
}
