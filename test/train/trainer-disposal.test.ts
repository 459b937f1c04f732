/**
 * train() leaves no tensors behind on any path: a run that finishes, one that throws on a NaN loss
 * (before and after a checkpoint, and after resuming one), one that shouldStop ends early, and one
 * a notebook interrupt (SIGINT) ends mid-epoch. Hooks hold tensors (PIAT its snapshot of the
 * epoch's start, SWA/EMA their average) and so does the optimizer (its velocity): all are freed.
 * Each count is taken before the test builds its model and after it disposes it.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mlp } from '../../src/models/mlp';
import { pgdAt } from '../../src/objectives/pgd-at';
import { Objective } from '../../src/objectives/types';
import { piat } from '../../src/piat/hook';
import { ema, swa } from '../../src/averaging/weight-averaging';
import { train, TrainConfig, TrainOptions } from '../../src/train/trainer';
import { PiatError } from '../../src/util/errors';
import { setup, tmpDir, toyTraining } from '../helpers';

before(setup);

const { data, test: test_, attack } = toyTraining(0);
const config = (epochs: number): TrainConfig => toyTraining(epochs).config;
const newModel = () => mlp({ inputDim: 3, numClasses: 2, hidden: [16], batchNorm: true, seed: 2 });

/** How many tensors `run` leaves behind: counted before the model is built and after it is disposed. */
async function leftBehind(run: (model: tf.LayersModel) => Promise<void>): Promise<number> {
  const before = tf.memory().numTensors;
  const model = newModel();
  try {
    await run(model);
  } finally {
    model.dispose();
  }
  return tf.memory().numTensors - before;
}

/** PGD-AT whose loss turns NaN from epoch `from` (0-based) on: the NaN path once a checkpoint and momentum exist. */
function nanFrom(from: number): Objective {
  const base = pgdAt({ attack });
  return {
    ...base,
    loss: (model, x, xAdv, y, ctx) => {
      const out = base.loss(model, x, xAdv, y, ctx);
      return ctx.epoch >= from ? { ...out, loss: tf.mul(out.loss, NaN) as tf.Scalar } : out;
    },
  };
}

const isNan = (e: unknown) => e instanceof PiatError && e.code === 'nan-loss';

function options(model: tf.LayersModel, over: Partial<TrainOptions>): TrainOptions {
  return { model, objective: pgdAt({ attack }), train: data, test: test_, config: config(3), progress: false, ...over };
}

test('a run that finishes leaves no tensors (PIAT and EMA, a run folder, evaluation; re-opened after)', async () => {
  const dir = tmpDir();
  const left = await leftBehind(async (model) => {
    const r = await train(options(model, { hooks: [piat(), ema(0.9)], runDir: dir }));
    assert.equal(r.records.length, 3);
    assert.equal(r.stopped, false);
  });
  assert.equal(left, 0, 'training left tensors behind');
  for (const recordsOnly of [false, true]) {
    const reopened = await leftBehind(async (model) => {
      await train(options(model, { hooks: [piat(), ema(0.9)], runDir: dir, recordsOnly }));
    });
    assert.equal(reopened, 0, `re-opening the finished run (recordsOnly: ${recordsOnly}) left tensors behind`);
  }
  // and in memory, without a run folder
  assert.equal(await leftBehind((model) => train(options(model, { hooks: [piat(), swa(1)] })).then(() => undefined)), 0);
});

test('a NaN loss in the first epoch (LR 1e30) leaves no tensors (PIAT and EMA)', async () => {
  const left = await leftBehind(async (model) => {
    await assert.rejects(
      train(options(model, { hooks: [piat(), ema(0.9)], runDir: tmpDir(), config: { ...config(3), optimizer: { lr: 1e30 } } })),
      isNan,
    );
  });
  assert.equal(left, 0, 'the NaN-loss path left tensors behind');
});

test('a NaN loss after a checkpoint, and after resuming one, leaves no tensors (PIAT and SWA, momentum)', async () => {
  const dir = tmpDir();
  const left = await leftBehind(async (model) => {
    await assert.rejects(train(options(model, { objective: nanFrom(1), hooks: [piat(), swa(0)], runDir: dir })), isNan);
  });
  assert.equal(left, 0, 'the NaN-loss path after one epoch left tensors behind');
  // resuming loads the optimizer's velocity and the averaged weights from the checkpoint, then fails again
  const resumed = await leftBehind(async (model) => {
    await assert.rejects(train(options(model, { objective: nanFrom(1), hooks: [piat(), swa(0)], runDir: dir })), isNan);
  });
  assert.equal(resumed, 0, 'the NaN-loss path of a resumed run left tensors behind');
});

test('a run that shouldStop ends after one epoch leaves no tensors, nor does resuming it to the end (PIAT and SWA)', async () => {
  const dir = tmpDir();
  const left = await leftBehind(async (model) => {
    const r = await train(options(model, { hooks: [piat(), swa(0)], runDir: dir, shouldStop: () => true }));
    assert.equal(r.stopped, true);
    assert.equal(r.records.length, 1);
  });
  assert.equal(left, 0, 'the stopped run left tensors behind');
  const resumed = await leftBehind(async (model) => {
    const r = await train(options(model, { hooks: [piat(), swa(0)], runDir: dir }));
    assert.equal(r.records.length, 3);
  });
  assert.equal(resumed, 0, 'the resumed run left tensors behind');
});

test('a notebook interrupt (SIGINT) in the middle of an epoch leaves no tensors (PIAT and EMA)', async () => {
  // watchInterrupts listens only inside a tslab kernel: look like one for this test (util/output.ts)
  const id = require.resolve('tslab/dist/jupyter');
  const saved = require.cache[id];
  require.cache[id] = { exports: { lastWriteDisplayData: {} } } as NodeJS.Module;
  try {
    let batches = 0;
    const left = await leftBehind(async (model) => {
      await assert.rejects(
        train(
          options(model, {
            hooks: [piat(), ema(0.9)],
            runDir: tmpDir(),
            config: { ...config(3), batchSize: 20 },
            // 6 batches an epoch: Ctrl-C after the second batch of epoch 2, seen after the third
            shouldStop: () => {
              if (++batches === 8) process.emit('SIGINT');
              return false;
            },
          }),
        ),
        (e: unknown) => e instanceof PiatError && e.code === 'interrupted' && /epoch 2, batch 3/.test(e.message),
      );
    });
    assert.equal(left, 0, 'the interrupted run left tensors behind');
  } finally {
    if (saved) require.cache[id] = saved;
    else delete require.cache[id];
  }
});
