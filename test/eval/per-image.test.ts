/** Per-image correctness (src/eval/per-image.ts): its packing, evaluate()'s rows and the trainer's records. */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mlp } from '../../src/models/mlp';
import { twoCircles } from '../../src/data/toy';
import { train, TrainConfig } from '../../src/train/trainer';
import { pgdAt, standard } from '../../src/objectives/pgd-at';
import { pgd } from '../../src/attacks/pgd';
import { accuracy, correctness } from '../../src/eval/accuracy';
import { evaluate } from '../../src/eval/evaluate';
import { allHavePerImage, PerImage, perImageAccuracy, perImageFlags, toPerImage } from '../../src/eval/per-image';
import { SplitPerImage } from '../../src/train/records';
import { PiatError } from '../../src/util/errors';
import { Rng } from '../../src/util/rng';
import { setup } from '../helpers';

before(setup);

const refused = (p: PerImage, re: RegExp) =>
  assert.throws(
    () => perImageFlags(p),
    (e: unknown) => e instanceof PiatError && e.code === 'bad-value' && re.test(e.message),
    JSON.stringify(p),
  );

test('per-image: flags survive toPerImage → JSON → perImageFlags for n = 0, 1, 7, 8, 9, 1000', () => {
  const rng = new Rng(11);
  for (const n of [0, 1, 7, 8, 9, 1000]) {
    for (const density of [0, 0.3, 1]) {
      const flags = Array.from({ length: n }, () => rng.next() < density);
      const p = JSON.parse(JSON.stringify(toPerImage(flags, 5))) as PerImage;
      assert.equal(p.from, 5);
      assert.equal(p.n, n);
      assert.equal(Buffer.from(p.bits, 'base64').length, Math.ceil(n / 8), `n = ${n}: ceil(n/8) bytes`);
      assert.deepEqual(Array.from(perImageFlags(p)), flags.map(Number), `n = ${n}, density ${density}`);
      assert.equal(perImageAccuracy(p), flags.filter(Boolean).length / Math.max(1, n));
    }
  }
  // numbers as flags, LSB first within each byte
  assert.deepEqual(toPerImage([1, 0, 0, 0, 0, 0, 0, 0, 0, 1]), { from: 0, n: 10, bits: Buffer.from([1, 2]).toString('base64') });
  assert.deepEqual(toPerImage(new Uint8Array([0, 1, 1])).bits, Buffer.from([6]).toString('base64'));
});

test('per-image: damaged data is refused, naming what is wrong', () => {
  const ok = toPerImage([true, false, true, true, false, false, true, false, true], 0); // 9 images, 2 bytes
  assert.equal(perImageFlags(ok).length, 9);
  refused({ ...ok, bits: Buffer.from([5]).toString('base64') }, /bits holds 1 bytes, but 9 images need exactly 2/);
  refused({ ...ok, bits: '' }, /bits holds 0 bytes, but 9 images need exactly 2/);
  refused({ ...ok, bits: Buffer.from([1, 2, 3]).toString('base64') }, /bits holds 3 bytes, but 9 images need exactly 2/);
  refused({ ...ok, bits: Buffer.from([0xff, 0x03]).toString('base64') }, /padding bits set after image 8/);
  refused({ ...ok, bits: 'A*B=' }, /bits is not base64/);
  refused({ ...ok, bits: ok.bits.slice(0, -1) }, /bits is not base64/);
  refused({ ...ok, n: -1 }, /n must be a non-negative integer/);
  refused({ ...ok, from: 1.5 }, /from must be a non-negative integer/);
  refused({ ...ok, bits: 7 as unknown as string }, /bits must be a base64 string/);
  refused(null as unknown as PerImage, /must be an object/);
  assert.throws(() => toPerImage([true], -1), /from must be a non-negative integer/);
  assert.equal(allHavePerImage([{ perImage: ok }, {}]), false);
  assert.equal(allHavePerImage([{ perImage: ok }]), true);
});

test('per-image: evaluate() keeps per-image correctness for clean, a batch attack and AutoAttack, each matching its accuracy', async () => {
  const data = twoCircles({ perClass: 60, seed: 7 });
  const testData = twoCircles({ perClass: 25, seed: 8 });
  const model = mlp({ inputDim: 3, numClasses: 2, hidden: [16], seed: 2 });
  await train({
    model,
    objective: standard(),
    train: data,
    config: { epochs: 6, batchSize: 30, seed: 1, optimizer: { lr: 0.2, momentum: 0.9 } },
    progress: false,
  });
  const n = 45;
  const before = tf.memory().numTensors;
  const rows = evaluate(model, testData, {
    attacks: ['clean', 'pgd20', 'aa'],
    eps: 0.1,
    n,
    seed: 3,
    progress: false,
    aa: { version: 'custom', attacks: ['apgd-ce'], apgdSteps: 5 },
  });
  assert.equal(tf.memory().numTensors, before, 'evaluate left tensors behind');
  for (const r of rows) {
    assert.ok(r.perImage, `${r.attack}: no perImage`);
    assert.equal(r.perImage.from, 0);
    assert.equal(r.perImage.n, n);
    assert.equal(
      perImageAccuracy(r.perImage),
      r.accuracy,
      `${r.attack}: per-image accuracy ${perImageAccuracy(r.perImage)} vs the row's ${r.accuracy}`,
    );
  }
  const [clean, pgd20, aa] = rows.map((r) => perImageFlags(r.perImage as PerImage));
  assert.ok(
    clean.some((v) => v) && aa.some((v) => !v),
    'precondition: a model that classifies some images, and an attack that breaks some',
  );
  // AutoAttack starts from the clean predictions: an image it leaves robust was correct to begin with
  aa.forEach((v, i) => assert.ok(!v || clean[i], `image ${i}: robust under AA but misclassified clean`));
  // the flags are correctness() over the same images, in order
  assert.deepEqual(clean, correctness(model, testData, undefined, { n }));
  assert.deepEqual(
    pgd20,
    correctness(model, testData, (m, x, y) => pgd(m, x, y, { eps: 0.1, alpha: 0.025, steps: 20, seed: 3 }), { n }),
  );
  model.dispose();
});

test('per-image: each evaluated epoch records which images its accuracies counted, on every split; no tensors are kept for it', async () => {
  const data = twoCircles({ perClass: 60, seed: 7 });
  const testData = twoCircles({ perClass: 30, seed: 8 });
  const validation = twoCircles({ perClass: 15, seed: 9 });
  const attack = { eps: 0.03, alpha: 0.0075, steps: 5 };
  const config: TrainConfig = {
    epochs: 3,
    batchSize: 40,
    seed: 5,
    optimizer: { lr: 0.2, momentum: 0.9 },
    eval: { n: 50, attack, trainN: 30, validationN: 20, every: 2 },
  };
  const model = mlp({ inputDim: 3, numClasses: 2, hidden: [16], seed: 2 });
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  const r = await train({
    model,
    objective: pgdAt({ attack: { eps: 0.03, alpha: 0.01, steps: 3 } }),
    train: data,
    test: testData,
    validation,
    config,
    progress: false,
    onEpoch: () => counts.push(tf.memory().numTensors),
  });
  assert.equal(tf.memory().numTensors, before, 'training left tensors behind');
  assert.equal(new Set(counts).size, 1, `tensor count changed across epochs (evaluated or not): ${counts}`);
  // epoch 1 is not evaluated (every 2), epochs 2 and 3 (the last) are
  assert.equal(r.records[0].cleanAcc, null);
  assert.equal(r.records[0].perImage, undefined, 'an epoch without evaluation has no perImage');
  const check = (split: SplitPerImage | undefined, n: number, clean: unknown, robust: unknown, what: string) => {
    assert.ok(split, `${what}: missing`);
    assert.equal(split.clean.n, n, `${what}: clean n`);
    assert.equal(split.clean.from, 0);
    assert.equal(perImageAccuracy(split.clean), clean, `${what}: clean`);
    assert.ok(split.robust, `${what}: robust missing`);
    assert.equal(split.robust.n, n, `${what}: robust n`);
    assert.equal(perImageAccuracy(split.robust), robust, `${what}: robust`);
  };
  for (const e of r.records.slice(1)) {
    check(e.perImage?.test, 50, e.cleanAcc, e.robustAcc, `epoch ${e.epoch} test`);
    check(e.perImage?.train, 30, e.trainCleanAcc, e.trainRobustAcc, `epoch ${e.epoch} train`);
    check(e.perImage?.validation, 20, e.valCleanAcc, e.valRobustAcc, `epoch ${e.epoch} validation`);
  }
  // the last epoch's accuracies are exactly what accuracy() gives on the final weights (the evaluation's seed: seed * 7919 + epoch index)
  const last = r.records[2];
  assert.equal(last.cleanAcc, accuracy(model, testData, undefined, { n: 50 }));
  assert.equal(
    last.robustAcc,
    accuracy(model, testData, (m, x, y) => pgd(m, x, y, { ...attack, seed: 5 * 7919 + 2 }), { n: 50 }),
  );
  // clean only (attack null): robust flags are null, as robustAcc is
  const m2 = mlp({ inputDim: 3, numClasses: 2, hidden: [16], seed: 2 });
  const r2 = await train({
    model: m2,
    objective: standard(),
    train: data,
    test: testData,
    config: { ...config, epochs: 1, eval: { n: 10, attack: null } },
    progress: false,
  });
  assert.equal(r2.records[0].robustAcc, null);
  assert.equal(r2.records[0].perImage?.test?.robust, null);
  assert.equal(perImageAccuracy(r2.records[0].perImage?.test?.clean as PerImage), r2.records[0].cleanAcc);
  assert.deepEqual(Object.keys(r2.records[0].perImage ?? {}), ['test']);
  model.dispose();
  m2.dispose();
});
