import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { mlp } from '../../src/models/mlp';
import { ArrayDataset } from '../../src/data/dataset';
import { pgdAt } from '../../src/objectives/pgd-at';
import { alp } from '../../src/objectives/alp';
import { nmse } from '../../src/objectives/nmse';
import { piat } from '../../src/piat/hook';
import { train, TrainConfig } from '../../src/train/trainer';
import { EpochRecord } from '../../src/train/records';
import { PiatError } from '../../src/util/errors';
import { REPO_ROOT, setup, tmpDir, toyTraining } from '../helpers';

before(setup);

const { data, test: test_, attack } = toyTraining(0);
const config = (epochs: number): TrainConfig => toyTraining(epochs).config;
const newModel = (batchNorm = false) => mlp({ inputDim: 3, numClasses: 2, hidden: [16], batchNorm, seed: 2 });
const strip = (rs: EpochRecord[]) => rs.map(({ trainSeconds: _a, evalSeconds: _b, ...r }) => r);

test('no tensor leak: numTensors is the same after every epoch and after training', async () => {
  const model = newModel(true);
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  await train({
    model,
    objective: nmse({ attack }),
    hooks: [piat()],
    train: data,
    test: test_,
    config: config(4),
    progress: false,
    onEpoch: () => counts.push(tf.memory().numTensors),
  });
  assert.equal(new Set(counts.slice(1)).size, 1, `tensor count changed across epochs: ${counts}`);
  assert.equal(tf.memory().numTensors, before, 'training left tensors behind');
  model.dispose();
});

test('each objective lowers its loss over a few epochs on the toy data', async () => {
  for (const objective of [pgdAt({ attack }), alp({ attack }), nmse({ attack })]) {
    const model = newModel();
    const r = await train({
      model,
      objective,
      train: data,
      config: { ...config(6), eval: undefined, optimizer: { lr: 0.1 } },
      progress: false,
    });
    const first = r.records[0].loss.total;
    const last = r.records[r.records.length - 1].loss.total;
    assert.ok(last < first, `${objective.name}: loss ${first} -> ${last}`);
    model.dispose();
  }
});

test('resume after a stop reproduces the uninterrupted run exactly (records and weights)', async () => {
  const full = newModel(true);
  const a = await train({
    model: full,
    objective: pgdAt({ attack }),
    hooks: [piat()],
    train: data,
    test: test_,
    config: config(4),
    runDir: tmpDir(),
    progress: false,
  });
  const dir = tmpDir();
  const m1 = newModel(true);
  let epochs = 0;
  const part = await train({
    model: m1,
    objective: pgdAt({ attack }),
    hooks: [piat()],
    train: data,
    test: test_,
    config: config(4),
    runDir: dir,
    progress: false,
    onEpoch: () => epochs++,
    shouldStop: () => epochs >= 1,
  });
  assert.equal(part.stopped, true);
  assert.equal(part.records.length, 2);
  assert.ok(!fs.existsSync(path.join(dir, 'done.json')));
  const m2 = newModel(true); // fresh weights: everything must come from the checkpoint
  const b = await train({
    model: m2,
    objective: pgdAt({ attack }),
    hooks: [piat()],
    train: data,
    test: test_,
    config: config(4),
    runDir: dir,
    progress: false,
  });
  assert.deepEqual(strip(b.records), strip(a.records));
  const wa = full.getWeights().map((t) => Array.from(t.dataSync()));
  const wb = m2.getWeights().map((t) => Array.from(t.dataSync()));
  assert.deepEqual(wb, wa);
  const lines = fs.readFileSync(path.join(dir, 'records.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 4);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.ok(cfg.backend.name && cfg.environment.tfjs && cfg.config.seed === 5, 'config.json records backend, versions and config');
  // and the code that ran: the checkout's commit where the tests run in one (null elsewhere)
  if (fs.existsSync(path.join(REPO_ROOT, '.git'))) {
    assert.match(cfg.environment.source?.commit ?? '', /^[0-9a-f]{40}$/, 'config.json records the source commit');
    assert.equal(typeof cfg.environment.source.modified, 'boolean');
  } else assert.equal(cfg.environment.source, null);
  [full, m1, m2].forEach((m) => m.dispose());
});

test('recordsOnly re-opens a finished run from its state and records alone, and still refuses another run', async () => {
  const dir = tmpDir();
  const m = newModel(true);
  const a = await train({
    model: m,
    objective: pgdAt({ attack }),
    hooks: [piat()],
    train: data,
    test: test_,
    config: config(2),
    runDir: dir,
    progress: false,
  });
  // without the weights and optimizer state the full path could not load the checkpoint
  for (const f of ['weights.bin', 'optimizer.bin']) fs.rmSync(path.join(dir, 'checkpoint', f));
  fs.rmSync(path.join(dir, 'checkpoint.old'), { recursive: true, force: true });
  const fresh = newModel(true);
  const initial = fresh.getWeights().map((t) => Array.from(t.dataSync()));
  const before = tf.memory().numTensors;
  const b = await train({
    model: fresh,
    objective: pgdAt({ attack }),
    hooks: [piat()],
    train: data,
    test: test_,
    config: config(2),
    runDir: dir,
    progress: false,
    recordsOnly: true,
  });
  assert.equal(tf.memory().numTensors, before, 're-opening (hooks included) left tensors behind');
  assert.deepEqual(strip(b.records), strip(a.records));
  assert.deepEqual(b.best, a.best);
  assert.deepEqual(
    fresh.getWeights().map((t) => Array.from(t.dataSync())),
    initial,
    'the model keeps its initial weights',
  );
  // another setting is refused as on resuming (the identity is checked before anything is returned)
  const other = newModel(true);
  await assert.rejects(
    train({
      model: other,
      objective: pgdAt({ attack }),
      hooks: [piat()],
      train: data,
      test: test_,
      config: { ...config(2), batchSize: 20 },
      runDir: dir,
      progress: false,
      recordsOnly: true,
    }),
    (e: PiatError) => e.code === 'config-mismatch' && /batchSize/.test(e.message),
  );
  other.dispose();
  [m, fresh].forEach((x) => x.dispose());
});

test('a corrupt newest checkpoint is detected and the previous one is used', async () => {
  const dir = tmpDir();
  const m = newModel();
  await train({
    model: m,
    objective: pgdAt({ attack }),
    train: data,
    config: { ...config(2), eval: undefined },
    runDir: dir,
    progress: false,
    shouldStop: () => false,
  });
  const bin = path.join(dir, 'checkpoint', 'weights.bin');
  const buf = fs.readFileSync(bin);
  buf[10] ^= 0xff;
  fs.writeFileSync(bin, buf);
  fs.rmSync(path.join(dir, 'done.json'));
  const warnings: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => (warnings.push(String(s)), true);
  let r;
  try {
    r = await train({
      model: newModel(),
      objective: pgdAt({ attack }),
      train: data,
      config: { ...config(2), eval: undefined },
      runDir: dir,
      progress: true,
    });
  } finally {
    (process.stderr as unknown as { write: typeof orig }).write = orig;
  }
  assert.ok(
    warnings.some((w) => /checksum/.test(w)),
    `expected a checksum warning, got: ${warnings.join('')}`,
  );
  assert.ok(warnings.some((w) => /resuming .* after epoch 1/.test(w)));
  assert.equal(r.records.length, 2);
  m.dispose();
});

test('NaN loss stops training with a clear error, and the checkpoint before it survives', async () => {
  const dir = tmpDir();
  const model = newModel();
  await assert.rejects(
    train({
      model,
      objective: pgdAt({ attack }),
      train: data,
      config: { ...config(3), eval: undefined, optimizer: { lr: 1e30 } },
      runDir: dir,
      progress: false,
    }),
    (e: unknown) =>
      e instanceof PiatError &&
      e.code === 'nan-loss' &&
      /became (NaN|Infinity) at epoch \d+, batch \d+/.test(e.message) &&
      /Lower the learning rate/.test(e.message),
  );
  model.dispose();
});

test('NaN in the data is rejected when the dataset is built', () => {
  const x = new Float32Array(20 * 3).fill(0.5);
  x[7] = NaN;
  assert.throws(() => new ArrayDataset('bad', x, new Int32Array(20), [3], 2), /Dataset 'bad': feature 1 of example 2 is NaN/);
});

test('invalid configs are rejected naming the field', async () => {
  const run = (c: Partial<TrainConfig>) =>
    train({ model: newModel(), objective: pgdAt({ attack }), train: data, config: { ...config(1), ...c } as TrainConfig, progress: false });
  await assert.rejects(run({ epochs: 0 }), /config\.epochs must be a whole number >= 1/);
  await assert.rejects(run({ batchSize: 2.5 }), /config\.batchSize/);
  await assert.rejects(run({ optimizer: { lr: -1 } }), /optimizer\.lr must be a positive number/);
  await assert.rejects(run({ optimizer: { lr: 0.1, momentum: 1.2 } }), /optimizer\.momentum must be in \[0, 1\)/);
});

test('a run directory with another config is refused', async () => {
  const dir = tmpDir();
  await train({
    model: newModel(),
    objective: pgdAt({ attack }),
    train: data,
    config: { ...config(1), eval: undefined },
    runDir: dir,
    progress: false,
  });
  await assert.rejects(
    train({
      model: newModel(),
      objective: pgdAt({ attack }),
      train: data,
      config: { ...config(1), eval: undefined, seed: 99 },
      runDir: dir,
      progress: false,
    }),
    (e: unknown) => e instanceof PiatError && e.code === 'config-mismatch',
  );
});

test('SWA/EMA: averaged weights are evaluated and saved; resume restores them exactly', async () => {
  const { swa, ema } = await import('../../src/averaging/weight-averaging');
  const { loadModel } = await import('../../src/train/model-io');
  for (const make of [() => swa(1), () => ema(0.9)]) {
    const full = newModel(true);
    const dirA = tmpDir();
    await train({
      model: full,
      objective: pgdAt({ attack }),
      hooks: [make()],
      train: data,
      test: test_,
      config: config(3),
      runDir: dirA,
      progress: false,
    });
    const dirB = tmpDir();
    let n = 0;
    await train({
      model: newModel(true),
      objective: pgdAt({ attack }),
      hooks: [make()],
      train: data,
      test: test_,
      config: config(3),
      runDir: dirB,
      progress: false,
      onEpoch: () => n++,
      shouldStop: () => n >= 2,
    });
    const b = await train({
      model: newModel(true),
      objective: pgdAt({ attack }),
      hooks: [make()],
      train: data,
      test: test_,
      config: config(3),
      runDir: dirB,
      progress: false,
    });
    const avgA = (await loadModel(path.join(dirA, 'averaged'))).getWeights().map((t) => Array.from(t.dataSync()));
    const avgB = (await loadModel(path.join(dirB, 'averaged'))).getWeights().map((t) => Array.from(t.dataSync()));
    assert.deepEqual(avgB, avgA);
    const raw = full.getWeights().map((t) => Array.from(t.dataSync()));
    assert.notDeepEqual(avgA, raw, 'the averaged model differs from the trained one');
    assert.ok(b.records.every((r) => r.robustAcc !== null));
    full.dispose();
  }
});
