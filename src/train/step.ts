/**
 * One optimisation step of any objective, optionally accumulated over micro-batches.
 *
 * Micro-batches keep memory bounded (wasm has a 4 GiB heap; ResNet-18 at batch 128 exceeds it in
 * one pass). The adversarial examples are exact per micro-batch (attacks run in inference mode);
 * batch-norm batch statistics are those of each micro-batch, as with any gradient accumulation.
 */
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset } from '../data/dataset';
import { Objective, ObjectiveContext } from '../objectives/types';
import { Sgd } from './sgd';
import { PiatError } from '../util/errors';

export interface StepResult {
  /** mean over the batch of the total loss ('total') and of each named part */
  values: Record<string, number>;
  /** false when the loss was not finite: the weights were not updated */
  applied: boolean;
}

/** wasm's fixed 4 GiB heap fails as a bare RuntimeError; say what it means and what to do. */
function explainOutOfMemory(e: unknown, batch: number, micro: number | undefined): unknown {
  const msg = String((e as Error)?.message ?? e);
  if (!/memory access out of bounds|Aborted\(\)|Out of memory|Cannot enlarge memory/i.test(msg)) return e;
  return new PiatError(
    'out-of-memory',
    `The backend ran out of memory in a training step of ${batch} examples${micro ? ` in micro-batches of ${micro}` : ''} (${msg.split('\n')[0]}). ` +
      `The wasm backend has a fixed 4 GiB heap: set config.microBatchSize (e.g. ${Math.max(1, Math.floor((micro ?? batch) / 4))}) ` +
      'to accumulate gradients over smaller pieces. The last checkpoint is intact; restart the process to resume.',
  );
}

/** One micro-batch's loss values (total first, then the objective's parts), still tensors. */
interface LossChunk {
  weight: number;
  losses: Record<string, tf.Scalar>;
}

/**
 * The gradient of the objective's loss over `indices` (summed over micro-batches, each weighted by
 * its share) and each micro-batch's loss tensors, unread. Nothing is left behind when it throws.
 */
function gradients(
  model: tf.LayersModel,
  objective: Objective,
  vars: tf.Variable[],
  data: ArrayDataset,
  indices: Int32Array,
  ctx: ObjectiveContext,
  microBatchSize: number | undefined,
): { grads: tf.Tensor[]; chunks: LossChunk[] } {
  const size = microBatchSize && microBatchSize < indices.length ? microBatchSize : indices.length;
  let acc: tf.Tensor[] | null = null;
  const chunks: LossChunk[] = [];
  try {
    for (let start = 0; start < indices.length; start += size) {
      const chunk = indices.subarray(start, Math.min(indices.length, start + size));
      const weight = chunk.length / indices.length;
      const { grads, losses } = tf.tidy(() => {
        const { x, y } = data.batch(chunk, ctx.rng);
        const xAdv = objective.adversarial(model, x, y, ctx);
        let kept: Record<string, tf.Scalar> = {};
        const r = tf.variableGrads(() => {
          const out = objective.loss(model, x, xAdv, y, ctx);
          kept = Object.fromEntries(Object.entries(out.parts).map(([k, t]) => [k, tf.keep(t)]));
          return out.loss;
        }, vars);
        const g = vars.map((v) => (weight === 1 ? r.grads[v.name] : tf.mul(r.grads[v.name], weight)));
        // a part that is the loss tensor itself is the same tensor twice: disposing it twice is harmless
        return { grads: g, losses: { total: r.value, ...kept } };
      });
      chunks.push({ weight, losses });
      if (!acc) acc = grads;
      else {
        const prev: tf.Tensor[] = acc;
        acc = prev.map((a, i) => tf.add(a, grads[i]));
        tf.dispose([...prev, ...grads]);
      }
    }
    return { grads: acc as tf.Tensor[], chunks };
  } catch (e) {
    tf.dispose(acc ?? []);
    chunks.forEach((c) => tf.dispose(Object.values(c.losses)));
    throw e;
  }
}

/** Mean over the batch of each loss: the micro-batches' values weighted by their share, in float64. */
function combine(chunks: LossChunk[], read: (t: tf.Scalar) => number): Record<string, number> {
  const values: Record<string, number> = {};
  for (const { weight, losses } of chunks) for (const [k, t] of Object.entries(losses)) values[k] = (values[k] ?? 0) + weight * read(t);
  return values;
}

/**
 * One step that reads its loss values before updating: a non-finite loss leaves the weights as
 * they were (`applied` false). Each read waits for the device; the trainer uses trainStepLazy.
 */
export function trainStep(
  model: tf.LayersModel,
  objective: Objective,
  sgd: Sgd,
  vars: tf.Variable[],
  data: ArrayDataset,
  indices: Int32Array,
  ctx: ObjectiveContext,
  lr: number,
  microBatchSize?: number,
): StepResult {
  try {
    const { grads, chunks } = gradients(model, objective, vars, data, indices, ctx, microBatchSize);
    const pending = new PendingLoss(chunks);
    let values: Record<string, number>;
    try {
      values = pending.values((t) => t.dataSync()[0]);
    } finally {
      pending.dispose();
    }
    const applied = Number.isFinite(values.total);
    try {
      if (applied) sgd.step(vars, grads, lr);
    } finally {
      tf.dispose(grads);
    }
    return { values, applied };
  } catch (e) {
    throw explainOutOfMemory(e, indices.length, microBatchSize);
  }
}

/**
 * A step's loss values left on the device (a few scalars): readLosses reads any number of them in
 * one transfer, so a training loop waits for the device only when it needs the numbers.
 */
export class PendingLoss {
  constructor(private chunks: LossChunk[] | null) {}

  /** its scalars, in the order `values` reads them */
  tensors(): tf.Scalar[] {
    return (this.chunks ?? []).flatMap((c) => Object.values(c.losses));
  }

  /** The values, as trainStep's `values` (bit for bit); `read` gives each scalar's value. */
  values(read: (t: tf.Scalar) => number): Record<string, number> {
    if (!this.chunks) throw new PiatError('internal', "a step's loss was read after it was disposed");
    return combine(this.chunks, read);
  }

  dispose(): void {
    this.chunks?.forEach((c) => tf.dispose(Object.values(c.losses)));
    this.chunks = null;
  }
}

/** The values of these steps' losses (as trainStep's `values`), read in one transfer from the device. */
export function readLosses(pending: PendingLoss[]): Record<string, number>[] {
  const all = pending.flatMap((p) => p.tensors());
  const at = new Map<tf.Scalar, number>();
  if (all.length) {
    const flat = tf.tidy(() => tf.stack(all).dataSync());
    all.forEach((t, i) => at.set(t, flat[i]));
  }
  return pending.map((p) => p.values((t) => at.get(t) as number));
}

/**
 * One step that does not wait for its loss: the update is applied whatever the loss, and the loss
 * values stay on the device until readLosses reads them (on a GPU each read is a device sync). A
 * non-finite loss is therefore seen only at the caller's next read, after the weights took it.
 * The caller disposes the PendingLoss.
 */
export function trainStepLazy(
  model: tf.LayersModel,
  objective: Objective,
  sgd: Sgd,
  vars: tf.Variable[],
  data: ArrayDataset,
  indices: Int32Array,
  ctx: ObjectiveContext,
  lr: number,
  microBatchSize?: number,
): PendingLoss {
  try {
    const { grads, chunks } = gradients(model, objective, vars, data, indices, ctx, microBatchSize);
    const pending = new PendingLoss(chunks);
    try {
      sgd.step(vars, grads, lr);
    } catch (e) {
      pending.dispose();
      throw e;
    } finally {
      tf.dispose(grads);
    }
    return pending;
  } catch (e) {
    throw explainOutOfMemory(e, indices.length, microBatchSize);
  }
}
