/**
 * A training objective, in two phases: `adversarial` makes the batch outside the weight-gradient
 * tape (inference mode), `loss` runs inside it. One function that calls an attack would record
 * every attack iteration on the weight tape in tfjs; docs/METHOD.md, "Objectives", says more.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';

export interface ObjectiveContext {
  /** seeded random source for this run (attack random starts draw from it) */
  rng: Rng;
  epoch: number;
}

export interface LossResult {
  /** the scalar that SGD minimises */
  loss: tf.Scalar;
  /** each named term, for logging (e.g. ce_adv, nmse) */
  parts: Record<string, tf.Scalar>;
}

export interface Objective {
  readonly name: string;
  /** hyper-parameters, recorded in the run's config */
  readonly config: Record<string, unknown>;
  /** The adversarial batch for this step (null for clean training). Caller disposes. */
  adversarial(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, ctx: ObjectiveContext): tf.Tensor | null;
  /** The differentiable loss; called inside the weight-gradient tape with the model in training mode. */
  loss(model: tf.LayersModel, x: tf.Tensor, xAdv: tf.Tensor | null, y: tf.Tensor1D, ctx: ObjectiveContext): LossResult;
  /**
   * For objectives that adapt between epochs (CFA's class-wise ε and β): runs after the epoch's
   * steps and returns fields for the epoch record. `state`/`restore` carry what it learnt across a
   * resume, so a resumed run continues exactly.
   */
  onEpochEnd?(epoch: number): Record<string, number | null> | void;
  state?(): Record<string, unknown>;
  restore?(state: Record<string, unknown>): void;
}
