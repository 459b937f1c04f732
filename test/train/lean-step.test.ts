/**
 * The lean training step: the trainer reads the loss lazily (at an epoch's first batch, at most once
 * a second, and at its end: one device sync instead of one per batch), and on torch SGD updates all
 * weights in one native call. Same seed: the records and weights are those of the old path (every
 * step read, per-parameter SGD), bit for bit; a NaN loss still stops the run with the same error.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { startTorchOrSkip } from '../helpers';
import { TorchBackend } from '../../src/backend/torch/backend';
import { smallCnn } from '../../src/models/resnet';
import { ArrayDataset } from '../../src/data/dataset';
import { pgdAt } from '../../src/objectives/pgd-at';
import { train, TrainConfig, TrainOptions } from '../../src/train/trainer';
import { PiatError } from '../../src/util/errors';
import { Rng } from '../../src/util/rng';

let available = false;
let backend: TorchBackend;
before(async () => {
  available = await startTorchOrSkip();
  if (available) backend = tf.backend() as unknown as TorchBackend;
});

function images(n: number, seed: number): ArrayDataset {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: n * 12 * 12 }, () => rng.next());
  const y = Int32Array.from({ length: n }, (_, i) => i % 4);
  return new ArrayDataset(`lean-step-${seed}`, x, y, [12, 12, 1], 4);
}
const attack = { eps: 0.1, alpha: 0.05, steps: 2 };
const model = () => smallCnn({ numClasses: 4, seed: 3, widths: [4, 8, 8], inputShape: [12, 12, 1] });
const config = (o: Partial<TrainConfig> = {}): TrainConfig => ({
  epochs: 2,
  batchSize: 4,
  seed: 9,
  optimizer: { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 },
  ...o,
});

/** A run of `config` on 48 images (12 batches an epoch); its records, weights and the reads of tensor values it made. */
async function run(lossReads: TrainOptions['lossReads'], foreach: boolean, cfg: TrainConfig) {
  const m = model();
  const was = backend.foreachSgd;
  const readSync = backend.readSync.bind(backend);
  let reads = 0;
  backend.foreachSgd = foreach;
  backend.readSync = (dataId) => {
    reads++;
    return readSync(dataId);
  };
  try {
    const r = await train({
      model: m,
      objective: pgdAt({ attack }),
      train: images(48, 4),
      config: cfg,
      progress: false,
      lossReads,
      ...(cfg.eval ? { test: images(8, 5) } : {}),
    });
    const trainReads = reads;
    const weights = m.getWeights().map((w) => Array.from(new Uint32Array(Float32Array.from(w.dataSync()).buffer)));
    return { records: r.records.map(({ trainSeconds: _t, evalSeconds: _e, ...rest }) => rest), weights, reads: trainReads };
  } finally {
    backend.foreachSgd = was;
    backend.readSync = readSync;
    m.dispose();
  }
}

test('same seed: the lazy loss read and one-call SGD give the old path’s records and weights, bit for bit', async (t) => {
  if (!available) return t.skip('torch backend not built');
  const cfg = config({ eval: { n: 8, attack } });
  const lean = await run('lazy', true, cfg);
  const old = await run('every-step', false, cfg);
  assert.equal(lean.records.length, 2);
  assert.deepEqual(lean.records, old.records);
  assert.deepEqual(lean.weights, old.weights);
  // each path on its own, too: the lazy read alone, and one-call SGD alone
  assert.deepEqual((await run('lazy', false, cfg)).weights, old.weights);
  assert.deepEqual((await run('every-step', true, cfg)).weights, old.weights);
});

test('the lazy trainer reads tensor values a few times an epoch, not once a batch', async (t) => {
  if (!available) return t.skip('torch backend not built');
  const cfg = config(); // no evaluation: what is read is the loss
  const tensorsBefore = tf.memory().numTensors;
  const lean = await run('lazy', true, cfg);
  const old = await run('every-step', true, cfg);
  assert.deepEqual(lean.records, old.records);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors left behind');
  // 2 epochs × 12 batches: the old path reads each batch's loss; the lazy one at the first batch, once
  // a second and at the end of each epoch (this run takes a few seconds at most)
  assert.ok(old.reads >= 24, `every-step: ${old.reads} reads`);
  assert.ok(lean.reads <= 2 * 2 + 2 * 8, `lazy: ${lean.reads} reads`);
  assert.ok(lean.reads < old.reads / 2, `lazy ${lean.reads} vs every-step ${old.reads}`);
});

test('a NaN loss still stops the lazy run with the error naming its batch, leaving no tensors', async (t) => {
  if (!available) return t.skip('torch backend not built');
  const tensorsBefore = tf.memory().numTensors;
  for (const lossReads of ['lazy', 'every-step'] as const) {
    const m = model();
    await assert.rejects(
      train({
        model: m,
        objective: pgdAt({ attack }),
        train: images(48, 4),
        config: config({ optimizer: { lr: 1e30 } }),
        progress: false,
        lossReads,
      }),
      (e: unknown) => {
        assert.ok(e instanceof PiatError && e.code === 'nan-loss', String(e));
        assert.match(e.message, /became (NaN|Infinity|-Infinity) at epoch 1, batch \d+/);
        assert.match(
          e.message,
          lossReads === 'lazy' ? /It was read after batch \d+ .* the weights in memory are not usable/ : /The weights were not updated/,
        );
        assert.match(e.message, /Lower the learning rate/);
        return true;
      },
    );
    m.dispose();
  }
  assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors left behind');
});
