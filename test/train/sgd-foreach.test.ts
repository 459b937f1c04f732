/**
 * SGD on the torch backend updates every weight in one native call (sgdStep, native/torch/optim.cc).
 * It must give the per-parameter tfjs path's weights (the reference, which runs with the backend's
 * `foreachSgd` off): the same operations on the same float32 scalars, so on the CPU bit for bit,
 * with momentum, weight decay (with and without biases and batch norm), Nesterov; it must leave
 * tfjs's tensor counts and the addon's bytes as they were, and no other tensor may change with a
 * weight (tfjs tensors are immutable, and an Identity or Reshape output shares the weight's storage).
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { startTorchOrSkip } from '../helpers';
import { TorchBackend } from '../../src/backend/torch/backend';
import { smallCnn } from '../../src/models/resnet';
import { ArrayDataset, range } from '../../src/data/dataset';
import { pgdAt } from '../../src/objectives/pgd-at';
import { Sgd, SgdOptions } from '../../src/train/sgd';
import { trainStep } from '../../src/train/step';
import { Rng } from '../../src/util/rng';

let available = false;
let backend: TorchBackend;
before(async () => {
  available = await startTorchOrSkip();
  if (available) backend = tf.backend() as unknown as TorchBackend;
});

/** A small CNN with batch norm (conv kernels, biases, γ and β among its trainable weights). */
const cnn = () => smallCnn({ numClasses: 4, seed: 3, widths: [4, 8, 8], inputShape: [12, 12, 1] });
const trainable = (m: tf.LayersModel) => m.trainableWeights.map((w) => w.read() as tf.Variable);
const bits = (ts: tf.Tensor[]) => ts.map((t) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer)));

/** Runs `f` with the backend's one-call SGD on or off. */
function withForeach<T>(on: boolean, f: () => T): T {
  const was = backend.foreachSgd;
  backend.foreachSgd = on;
  try {
    return f();
  } finally {
    backend.foreachSgd = was;
  }
}

/** Random gradients for `vars`, the same for the same seed and step. */
function gradients(vars: tf.Variable[], seed: number): tf.Tensor[] {
  const rng = new Rng(seed);
  return vars.map((v) =>
    tf.tensor(
      Float32Array.from({ length: v.size }, () => (rng.next() - 0.5) * 2),
      v.shape,
    ),
  );
}

/** `steps` SGD steps of a fresh CNN with the same gradients; its weights and velocities, as bits. */
function sgdRun(opts: SgdOptions, steps: number, foreach: boolean): { weights: number[][]; velocity: number[][] } {
  const m = cnn();
  const vars = trainable(m);
  const sgd = new Sgd(opts);
  withForeach(foreach, () => {
    for (let k = 0; k < steps; k++) {
      const g = gradients(vars, 100 + k);
      sgd.step(vars, g, opts.lr * (k + 1)); // a changing learning rate, as a schedule gives
      tf.dispose(g);
    }
  });
  const out = { weights: bits(vars), velocity: bits(sgd.getState() ?? []) };
  sgd.dispose();
  m.dispose();
  return out;
}

const CASES: [string, SgdOptions][] = [
  ['momentum and weight decay', { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 }],
  ['Nesterov, no decay of biases and batch norm', { lr: 0.1, momentum: 0.8, weightDecay: 1e-2, nesterov: true, decayBiasAndNorm: false }],
  ['no momentum', { lr: 0.03, momentum: 0, weightDecay: 2e-4 }],
];

for (const [name, opts] of CASES) {
  test(`one native call gives the per-parameter path's weights and velocities (${name})`, (t) => {
    if (!available) return t.skip('torch backend not built');
    const calls0 = backend.calls.get('sgdStep') ?? 0;
    const fused = sgdRun(opts, 6, true);
    assert.equal((backend.calls.get('sgdStep') ?? 0) - calls0, 6, 'the fused path ran once per step');
    const reference = sgdRun(opts, 6, false);
    assert.equal((backend.calls.get('sgdStep') ?? 0) - calls0, 6, 'the reference path made no sgdStep call');
    assert.ok(fused.weights.length >= 8, `${fused.weights.length} weights`);
    // ATen's CPU kernels round each operation to float32 as tfjs's kernels on torch do: bit for bit
    assert.deepEqual(fused.weights, reference.weights);
    assert.deepEqual(fused.velocity, reference.velocity);
  });
}

test('the fused step leaves tfjs tensor counts and the addon bytes unchanged', (t) => {
  if (!available) return t.skip('torch backend not built');
  const m = cnn();
  const vars = trainable(m);
  const sgd = new Sgd({ lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const g = gradients(vars, 7);
  sgd.step(vars, g, 0.05); // creates the velocities
  const start = tf.memory() as tf.MemoryInfo & { nativeBytes: number; nativeTensors: number };
  for (let k = 0; k < 20; k++) sgd.step(vars, g, 0.05);
  const mem = tf.memory() as tf.MemoryInfo & { nativeBytes: number; nativeTensors: number };
  assert.equal(mem.numTensors, start.numTensors, 'tfjs tensors grew');
  assert.equal(mem.numBytes, start.numBytes);
  assert.equal(mem.nativeTensors, start.nativeTensors, 'ATen tensors grew');
  assert.equal(mem.nativeBytes, mem.numBytes, 'bytes held by the addon vs tfjs numBytes');
  tf.dispose(g);
  sgd.dispose();
  m.dispose();
});

test('tensors that share a weight (its assigned value, a clone, a reshape) keep their values', (t) => {
  if (!available) return t.skip('torch backend not built');
  const v = tf.variable(tf.tensor([1, 2, 3, 4], [4]), true, 'shared_kernel');
  const assigned = tf.tensor([5, 6, 7, 8], [4]);
  v.assign(assigned); // v and `assigned` share one data id
  const clone = tf.clone(v); // on torch, an Identity output shares the weight's storage
  const reshaped = tf.reshape(v, [2, 2]);
  const g = tf.tensor([1, 1, 1, 1], [4]);
  const before = tf.memory().numTensors;
  const sgd = new Sgd({ lr: 0.5, momentum: 0.9 });
  sgd.step([v], [g], 0.5);
  sgd.step([v], [g], 0.5);
  // float32: v = 1, then 0.9·1 + 1; p = x − 0.5·1 − 0.5·v
  const f = Math.fround;
  const v2 = f(f(f(0.9) * 1) + 1);
  assert.deepEqual(
    Array.from(v.dataSync()),
    [5, 6, 7, 8].map((x) => f(f(x - 0.5) - f(0.5 * v2))),
  );
  assert.deepEqual(Array.from(assigned.dataSync()), [5, 6, 7, 8]);
  assert.deepEqual(Array.from(clone.dataSync()), [5, 6, 7, 8]);
  assert.deepEqual(Array.from(reshaped.dataSync()), [5, 6, 7, 8]);
  assert.equal(tf.memory().numTensors, before + 1, 'one velocity, nothing else');
  tf.dispose([v, assigned, clone, reshaped, g]);
  sgd.dispose();
});

test('a wrong call changes nothing and says what was wrong', (t) => {
  if (!available) return t.skip('torch backend not built');
  const p = tf.variable(tf.tensor([1, 2], [2]));
  const q = tf.variable(tf.tensor([3, 4], [2]));
  const g2 = tf.tensor([1, 1], [2]);
  const g3 = tf.tensor([1, 1, 1], [3]);
  const h = (ts: tf.Tensor[]) => Uint32Array.from(ts, (x) => backend.handle(x.dataId));
  const hyper = { lr: 0.1, momentum: 0, weightDecay: 0, nesterov: false };
  const native = backend.native;
  assert.throws(() => native.sgdStep(h([p, q, g2, g3]), new Uint8Array(2), hyper), /gradient 1 has another shape than its parameter/);
  assert.throws(() => native.sgdStep(h([p, g2, g2]), new Uint8Array(1), hyper), /3 handles for 1 parameters \(want 2 per parameter\)/);
  assert.throws(() => native.sgdStep(h([p, p, g2, g2]), new Uint8Array(2), hyper), /passed twice/);
  assert.throws(() => native.sgdStep([1, 2] as unknown as Uint32Array, new Uint8Array(1), hyper), /handles must be a Uint32Array/);
  assert.throws(() => native.sgdStep(h([p, g2]), new Uint8Array(1), null as unknown as typeof hyper), /hyper must be an object/);
  assert.throws(() => native.sgdStep(h([p, g2]), new Uint8Array(1), { momentum: 0 } as typeof hyper), /missing attr lr/);
  assert.deepEqual(Array.from(p.dataSync()), [1, 2]);
  assert.deepEqual(Array.from(q.dataSync()), [3, 4]);
  tf.dispose([p, q, g2, g3]);
});

function images(n: number, seed: number): ArrayDataset {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: n * 12 * 12 }, () => rng.next());
  const y = Int32Array.from({ length: n }, (_, i) => i % 4);
  return new ArrayDataset(`sgd-foreach-${seed}`, x, y, [12, 12, 1], 4);
}

test('PGD-AT training steps give the same weights and batch-norm statistics on either path', (t) => {
  if (!available) return t.skip('torch backend not built');
  const run = (foreach: boolean) =>
    withForeach(foreach, () => {
      const m = cnn();
      const vars = trainable(m);
      const sgd = new Sgd({ lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
      const data = images(32, 1);
      const objective = pgdAt({ attack: { eps: 0.1, alpha: 0.05, steps: 2 } });
      const rng = new Rng(2);
      const losses: number[] = [];
      for (let k = 0; k < 6; k++)
        losses.push(
          trainStep(m, objective, sgd, vars, data, range(32).slice((k % 2) * 16, (k % 2) * 16 + 16), { rng, epoch: 0 }, 0.05).values.total,
        );
      const out = { losses, weights: bits(m.getWeights()) };
      sgd.dispose();
      m.dispose();
      return out;
    });
  const fused = run(true);
  const reference = run(false);
  assert.deepEqual(fused.losses, reference.losses);
  assert.deepEqual(fused.weights, reference.weights);
});
