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
    const size = microBatchSize && microBatchSize < indices.length ? microBatchSize : indices.length;
    let acc: tf.Tensor[] | null = null;
    const values: Record<string, number> = {};
    for (let start = 0; start < indices.length; start += size) {
      const chunk = indices.subarray(start, Math.min(indices.length, start + size));
      const weight = chunk.length / indices.length;
      const { grads, parts } = tf.tidy(() => {
        const { x, y } = data.batch(chunk, ctx.rng);
        const xAdv = objective.adversarial(model, x, y, ctx);
        let kept: Record<string, tf.Scalar> = {};
        const r = tf.variableGrads(() => {
          const out = objective.loss(model, x, xAdv, y, ctx);
          kept = Object.fromEntries(Object.entries(out.parts).map(([k, t]) => [k, tf.keep(t)]));
          return out.loss;
        }, vars);
        const p: Record<string, number> = { total: r.value.dataSync()[0] };
        for (const [k, t] of Object.entries(kept)) p[k] = t.dataSync()[0];
        Object.values(kept).forEach((t) => t.dispose());
        const g = vars.map((v) => (weight === 1 ? r.grads[v.name] : tf.mul(r.grads[v.name], weight)));
        return { grads: g, parts: p };
      });
      for (const [k, v] of Object.entries(parts)) values[k] = (values[k] ?? 0) + weight * v;
      if (!acc) acc = grads;
      else {
        const prev: tf.Tensor[] = acc;
        acc = prev.map((a, i) => tf.add(a, grads[i]));
        tf.dispose([...prev, ...grads]);
      }
    }
    const applied = Number.isFinite(values.total);
    if (applied) sgd.step(vars, acc as tf.Tensor[], lr);
    tf.dispose(acc as tf.Tensor[]);
    return { values, applied };
  } catch (e) {
    throw explainOutOfMemory(e, indices.length, microBatchSize);
  }
}
