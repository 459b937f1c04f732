import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mlp } from '../../src/models/mlp';
import { smallCnn } from '../../src/models/resnet';
import { cfa } from '../../src/objectives/cfa';
import { klToTarget, rat, regGap } from '../../src/objectives/rat';
import { trades } from '../../src/objectives/trades';
import { fawa } from '../../src/averaging/fawa';
import { pgd } from '../../src/attacks/pgd';
import { twoCircles } from '../../src/data/toy';
import { ArrayDataset } from '../../src/data/dataset';
import { train } from '../../src/train/trainer';
import { Rng } from '../../src/util/rng';
import { relDiff, setup, tmpDir, values } from '../helpers';
import { ce, identityModel, kl, mean, softmax, Y, Z, ZA } from '../hand-math';

before(setup);

function lossValue(o: ReturnType<typeof cfa>, model: tf.LayersModel, epoch: number, z = Z, za = ZA, y = Y): number {
  return tf.tidy(
    () => o.loss(model, tf.tensor2d(z), tf.tensor2d(za), tf.tensor1d(y, 'int32'), { rng: new Rng(1), epoch }).loss.dataSync()[0],
  );
}

test('CFA (TRADES base): per-example (1 − b_y)·CE + b_y·KL with b = β/(1+β) before calibration, then (λ2+A_y)β/(1+(λ2+A_y)β)', () => {
  const model = identityModel();
  const o = cfa({ numClasses: 3, beginEpoch: 1 });
  const b0 = 6 / 7;
  const want0 = mean(Z.map((z, i) => (1 - b0) * ce(z, Y[i]) + b0 * kl(z, ZA[i])));
  const got0 = lossValue(o, model, 0);
  assert.ok(relDiff(got0, want0) < 1e-5, `${got0} vs ${want0}`);
  // epoch 0 saw class 0 wrong (ZA[0] predicts 1) and class 2 wrong (ZA[1] predicts 1); one more batch: class 0 right
  lossValue(o, model, 0, [[1, 0, 0]], [[3, 0, 0]], [0]);
  const rec = o.onEpochEnd!(0) as Record<string, number>;
  const A = [0.5, 0, 0]; // class 0: 1 of 2 right; class 1 unseen; class 2: 0 of 1
  assert.equal(rec.train_robust_worst_class, 0);
  assert.ok(relDiff(rec.eps_max, (0.5 + 0.5) * (8 / 255)) < 1e-9 && relDiff(rec.eps_min, 0.5 * (8 / 255)) < 1e-9);
  const b = A.map((a) => ((0.5 + a) * 6) / (1 + (0.5 + a) * 6));
  const want1 = mean(Z.map((z, i) => (1 - b[Y[i]]) * ce(z, Y[i]) + b[Y[i]] * kl(z, ZA[i])));
  const got1 = lossValue(o, model, 1);
  assert.ok(relDiff(got1, want1) < 1e-5, `${got1} vs ${want1}`);
  // what was learnt survives state() → restore() into a fresh objective
  const o2 = cfa({ numClasses: 3, beginEpoch: 1 });
  o2.restore!(JSON.parse(JSON.stringify(o.state!())));
  assert.ok(relDiff(lossValue(o2, model, 1), want1) < 1e-5);
  model.dispose();
});

test("CFA: the attack stays inside each example's class-wise ε ball (PGD with per-example radii)", () => {
  const model = smallCnn({ numClasses: 10, inputShape: [8, 8, 1], widths: [4, 4, 8], seed: 3 });
  const x = tf.randomUniform([4, 8, 8, 1], 0.2, 0.8, 'float32', 1);
  const y = tf.tensor1d([0, 1, 2, 3], 'int32');
  const eps = tf.tensor1d([0.01, 0.05, 0.1, 0]);
  const adv = pgd(model, x, y, { eps: 0.1, alpha: 0.02, steps: 5, epsPerExample: eps, seed: 4 });
  const d = tf.max(tf.abs(tf.sub(adv, x)), [1, 2, 3]);
  const got = values(d);
  [0.01, 0.05, 0.1, 0].forEach((e, i) => assert.ok(got[i] <= e + 1e-6 && got[i] >= e * 0.9, `example ${i}: ${got[i]} vs ε ${e}`));
  assert.throws(
    () => pgd(model, x, y, { eps: 0.1, alpha: 0.02, steps: 1, epsPerExample: tf.tensor1d([0.1]) }),
    /epsPerExample has 1 radii for a batch of 4/,
  );
  tf.dispose([x, y, eps, adv, d]);
  model.dispose();
});

test('CFA resumes exactly: class-wise calibration is part of the checkpoint', async () => {
  const data = twoCircles({ perClass: 40, seed: 3 });
  const attack = { eps: 0.05, alpha: 0.02, steps: 2 };
  const config = { epochs: 3, batchSize: 40, seed: 2, optimizer: { lr: 0.1 } };
  const strip = (rs: { trainSeconds: number; evalSeconds: number }[]) => rs.map(({ trainSeconds, evalSeconds, ...r }) => r);
  const run = async (dir: string, stopAfter?: number) => {
    const model = mlp({ inputDim: 3, numClasses: 2, hidden: [8], seed: 4 });
    let n = 0;
    const r = await train({
      model,
      objective: cfa({ numClasses: 2, beginEpoch: 1, attack }),
      train: data,
      config,
      runDir: dir,
      progress: false,
      onEpoch: () => n++,
      shouldStop: stopAfter ? () => n >= stopAfter : undefined,
    });
    model.dispose();
    return r;
  };
  const a = await run(tmpDir());
  const dir = tmpDir();
  await run(dir, 1);
  const b = await run(dir);
  assert.deepEqual(strip(b.records), strip(a.records));
  assert.ok(a.records[2].eps_max !== a.records[0].eps_max || a.records[2].eps_min !== a.records[0].eps_min, 'calibration changed ε');
});

test('RAT: regGap on a hand-computed 3-class gap; c = 0.8 with 10 classes', () => {
  const g = regGap([3, 1, 2]); // shifted [2, 0, 1], c = 1/3
  const want = [
    [2 / 3, 0, 1 / 3],
    [2 / 9, 2 / 3, 1 / 9],
    [1 / 3, 0, 2 / 3],
  ];
  g.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - want[i][j]) < 1e-12, `[${i},${j}] ${v} vs ${want[i][j]}`)));
  const g10 = regGap(Array.from({ length: 10 }, (_, i) => i));
  assert.ok(Math.abs(g10[3][3] - 0.2) < 1e-12 && Math.abs(g10[3].reduce((a, b) => a + b, 0) - 1) < 1e-12);
  const flat = regGap([1, 1, 1]); // no gap: uniform over the other classes
  assert.deepEqual(
    flat[0].map((v) => +v.toFixed(6)),
    [0.666667, 0.166667, 0.166667],
  );
});

test('RAT: KL to a soft target with zero entries', () => {
  const t = [[0, 0.25, 0.75]];
  const z = [[1, 2, 0.5]];
  const p = softmax(z[0]);
  const want = 0.25 * (Math.log(0.25) - Math.log(p[1])) + 0.75 * (Math.log(0.75) - Math.log(p[2]));
  const got = tf.tidy(() => klToTarget(tf.tensor2d(t), tf.tensor2d(z)).dataSync()[0]);
  assert.ok(relDiff(got, want) < 1e-5, `${got} vs ${want}`);
});

test('RAT: loss = (1−α)CE + α·first + ½α·second + β·KL; α = 0 is TRADES; the weight noise is removed after the attack', () => {
  const model = smallCnn({ numClasses: 3, inputShape: [6, 6, 1], widths: [4, 4, 4], seed: 5 });
  const before_ = model.getWeights().map((w) => values(w));
  const x = tf.randomUniform([5, 6, 6, 1], 0, 1, 'float32', 2);
  const y = tf.tensor1d([0, 1, 2, 0, 1], 'int32');
  const attack = { eps: 0.1, alpha: 0.03, steps: 2 };
  const parts = tf.tidy(() => {
    const o = rat({ attack });
    const xAdv = o.adversarial(model, x, y, { rng: new Rng(3), epoch: 0 }) as tf.Tensor;
    // (compared before any training-mode forward pass, which moves the batch-norm statistics)
    assert.deepEqual(
      model.getWeights().map((w) => values(w)),
      before_,
      'weight noise removed bit for bit',
    );
    const r = o.loss(model, x, xAdv, y, { rng: new Rng(3), epoch: 0 });
    const t = trades({ attack }).loss(model, x, xAdv, y, { rng: new Rng(3), epoch: 0 });
    const o0 = rat({ attack, alpha: 0 });
    o0.adversarial(model, x, y, { rng: new Rng(3), epoch: 0 });
    const r0 = o0.loss(model, x, xAdv, y, { rng: new Rng(3), epoch: 0 });
    return {
      total: r.loss.dataSync()[0],
      ...Object.fromEntries(Object.entries(r.parts).map(([k, v]) => [k, v.dataSync()[0]])),
      trades: t.loss.dataSync()[0],
      rat0: r0.loss.dataSync()[0],
    };
  }) as Record<string, number>;
  const want = 0.8 * parts.ce_clean + 0.2 * parts.taylor_first + 0.1 * parts.taylor_second + 6 * parts.kl;
  assert.ok(relDiff(parts.total, want) < 1e-5, `${parts.total} vs ${want}`);
  assert.ok(parts.taylor_first > 0 && parts.taylor_second > 0);
  assert.ok(relDiff(parts.rat0, parts.trades) < 1e-5, `${parts.rat0} vs ${parts.trades}`);
  assert.throws(() => rat().loss(model, x, x, y, { rng: new Rng(1), epoch: 0 }), /call adversarial\(\) first/);
  tf.dispose([x, y]);
  model.dispose();
});

test('a few epochs of CFA and RAT lower their loss on the toy data', async () => {
  const data = twoCircles({ perClass: 60, seed: 7 });
  const attack = { eps: 0.03, alpha: 0.0075, steps: 3 };
  // (CFA without calibration here: calibrating ε changes the objective between epochs)
  for (const objective of [cfa({ numClasses: 2, beginEpoch: 100, attack }), rat({ attack })]) {
    const model = mlp({ inputDim: 3, numClasses: 2, hidden: [16], seed: 2 });
    const n0 = tf.memory().numTensors;
    const r = await train({
      model,
      objective,
      train: data,
      config: { epochs: 6, batchSize: 40, seed: 5, optimizer: { lr: 0.1 } },
      progress: false,
    });
    assert.ok(
      r.records[5].loss.total < r.records[0].loss.total,
      `${objective.name}: ${r.records[0].loss.total} -> ${r.records[5].loss.total}`,
    );
    assert.equal(tf.memory().numTensors, n0, `${objective.name} leaks no tensors`);
    model.dispose();
  }
});

test('FAWA: an epoch enters the average (decay 0.88) only when its worst class reaches the threshold', () => {
  const model = identityModel();
  const validation = new ArrayDataset('v', new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]), new Int32Array([0, 1, 2]), [3], 3);
  const never = fawa({ validation, threshold: 1.01, attack: { eps: 0, alpha: 0, steps: 0 } });
  assert.deepEqual(never.onEpochEnd({ model, epoch: 0 }), { fawa_valid_worst_class: 1, fawa_updates: 0 });
  assert.equal(never.averagedWeights(), null);
  const h = fawa({ validation, attack: { eps: 0, alpha: 0, steps: 0 } });
  h.onEpochEnd({ model, epoch: 0 });
  model.setWeights([tf.mul(tf.eye(3), 2), tf.ones([3])]);
  h.onEpochEnd({ model, epoch: 1 });
  const avg = h.averagedWeights()!.map((w) => values(w));
  assert.ok(Math.abs(avg[0][0] - (0.88 * 1 + 0.12 * 2)) < 1e-6 && Math.abs(avg[1][0] - 0.12) < 1e-6, JSON.stringify(avg));
  never.dispose();
  h.dispose();
  model.dispose();
});
