/**
 * Training on the torch backend: ATen memory follows tfjs's accounting exactly over 100 training
 * steps (no ATen tensor outlives its tfjs tensor), and the same seed on the same thread count gives
 * bit-identical records and weights.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { startTorchOrSkip } from '../helpers';
import { TorchBackend } from '../../src/backend/torch/backend';
import { smallCnn } from '../../src/models/resnet';
import { ArrayDataset, range } from '../../src/data/dataset';
import { pgdAt } from '../../src/objectives/pgd-at';
import { piat } from '../../src/piat/hook';
import { Sgd } from '../../src/train/sgd';
import { trainStep } from '../../src/train/step';
import { train, TrainConfig } from '../../src/train/trainer';
import { Rng } from '../../src/util/rng';

let available = false;
before(async () => {
  available = await startTorchOrSkip();
});

function images(n: number, seed: number): ArrayDataset {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: n * 12 * 12 }, () => rng.next());
  const y = Int32Array.from({ length: n }, (_, i) => i % 4);
  return new ArrayDataset(`torch-train-${seed}`, x, y, [12, 12, 1], 4);
}
const attack = { eps: 0.1, alpha: 0.05, steps: 2 };
const model = () => smallCnn({ numClasses: 4, seed: 3, widths: [4, 8, 8], inputShape: [12, 12, 1] });

test('bytes and tensors held by the addon equal tfjs accounting after 100 training steps', async (t) => {
  if (!available) return t.skip('torch backend not built');
  const backend = tf.backend() as unknown as TorchBackend;
  const m = model();
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  const sgd = new Sgd({ lr: 0.05, momentum: 0.9 });
  const data = images(32, 1);
  const objective = pgdAt({ attack });
  const rng = new Rng(2);
  const step = (k: number) =>
    trainStep(m, objective, sgd, vars, data, range(32).slice((k % 2) * 16, (k % 2) * 16 + 16), { rng, epoch: 0 }, 0.05);
  step(0); // creates the optimiser's velocities
  const start = tf.memory().numTensors;
  for (let k = 1; k <= 100; k++) step(k);
  const mem = tf.memory() as tf.MemoryInfo & { nativeBytes: number; nativeTensors: number };
  assert.equal(mem.numTensors, start, 'tfjs tensors grew across training steps');
  assert.equal(mem.nativeTensors, backend.numDataIds(), 'ATen tensors held vs torch data ids');
  assert.equal(mem.nativeTensors, mem.numDataBuffers, 'ATen tensors held vs tfjs data buffers');
  assert.equal(mem.nativeBytes, mem.numBytes, 'bytes held by the addon vs tfjs numBytes');
  sgd.dispose();
  m.dispose();
  const after = tf.memory() as tf.MemoryInfo & { nativeBytes: number; nativeTensors: number };
  assert.equal(after.nativeBytes, after.numBytes, 'after disposing the model');
});

test('the same seed on the same thread count gives identical records and weights', async (t) => {
  if (!available) return t.skip('torch backend not built');
  const config: TrainConfig = {
    epochs: 2,
    batchSize: 16,
    seed: 9,
    optimizer: { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 },
    eval: { n: 16, attack },
  };
  const once = async () => {
    const m = model();
    const r = await train({
      model: m,
      objective: pgdAt({ attack }),
      hooks: [piat()],
      train: images(48, 4),
      test: images(16, 5),
      config,
      progress: false,
    });
    const weights = m.getWeights().map((w) => Array.from(w.dataSync()));
    m.dispose();
    return { records: r.records.map(({ trainSeconds: _a, evalSeconds: _b, ...rest }) => rest), weights };
  };
  const a = await once();
  const b = await once();
  assert.deepEqual(b.records, a.records);
  assert.deepEqual(b.weights, a.weights);
});
