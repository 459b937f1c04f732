/** The paper's settings (issue 13): the piecewise-linear LR, NMSE's two reductions, the Best split, per-epoch training accuracy. */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { knotMultiplier, lrAt, paperLinearDecay, paperStepDecay } from '../../src/train/lr';
import { validateTrainConfig, train } from '../../src/train/trainer';
import { nmse, nmseTerm } from '../../src/objectives/nmse';
import { pgdAt } from '../../src/objectives/pgd-at';
import { poolConfig, poolData, poolSplits } from '../../src/experiments/pool';
import { PROFILES } from '../../src/experiments/profiles';
import { mlp } from '../../src/models/mlp';
import { twoCircles } from '../../src/data/toy';
import { PiatError } from '../../src/util/errors';
import { setup } from '../helpers';

before(setup);

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test("the paper's LR (ResNet-18): 0.01 until epoch 60, linear to 0.001 at 90 and 0.0001 at 120", () => {
  const s = paperLinearDecay(120);
  for (const [epoch, lr] of [
    [0, 0.01],
    [30, 0.01],
    [60, 0.01],
    [90, 0.001],
    [120, 0.0001],
    [150, 0.0001],
  ] as const)
    close(lrAt(s, 0.01, epoch), lr, `epoch ${epoch}`);
  // between the knots: on the line
  close(lrAt(s, 0.01, 75), 0.0055, 'epoch 75 (halfway 60 → 90)');
  close(lrAt(s, 0.01, 100), 0.001 - (0.0009 * 10) / 30, 'epoch 100');
  // monotone non-increasing over the run
  const lrs = Array.from({ length: 121 }, (_, e) => lrAt(s, 0.01, e));
  assert.ok(lrs.every((v, i) => i === 0 || v <= lrs[i - 1] + 1e-15));
  // WRN: 0.1 until 90, 0.01 at 135, 0.001 at 180
  const w = paperLinearDecay(180);
  for (const [epoch, lr] of [
    [90, 0.1],
    [135, 0.01],
    [180, 0.001],
  ] as const)
    close(lrAt(w, 0.1, epoch), lr, `WRN epoch ${epoch}`);
  // the step reading stays available under its own name
  assert.deepEqual(paperStepDecay(120), { kind: 'piecewise', milestones: [60, 90] });
  close(lrAt(paperStepDecay(120), 0.01, 75), 0.001, 'step reading at 75');
});

test('LR knots: held before the first and after the last, bad knots refused with the reason', () => {
  close(
    knotMultiplier(
      [
        [5, 2],
        [10, 1],
      ],
      0,
    ),
    2,
    'before the first knot',
  );
  close(
    knotMultiplier(
      [
        [5, 2],
        [10, 1],
      ],
      7.5,
    ),
    1.5,
    'midway',
  );
  close(
    knotMultiplier(
      [
        [5, 2],
        [10, 1],
      ],
      99,
    ),
    1,
    'after the last knot',
  );
  assert.throws(
    () =>
      knotMultiplier(
        [
          [5, 1],
          [5, 0.1],
        ],
        0,
      ),
    /increase strictly/,
  );
  assert.throws(() => knotMultiplier([], 0), /at least one/);
  assert.throws(() => knotMultiplier([[0, -1]], 0), /multiplier ≥ 0/);
  // the trainer's config check knows the new kind
  const base = { epochs: 1, batchSize: 1, seed: 0, optimizer: { lr: 0.1 } };
  validateTrainConfig({
    ...base,
    lrSchedule: {
      kind: 'knots',
      knots: [
        [0, 1],
        [1, 0.1],
      ],
    },
  });
  assert.throws(() => validateTrainConfig({ ...base, lrSchedule: { kind: 'knots', knots: [[0, 1, 2]] } as never }), PiatError);
});

/** NMSE of one example by hand (float64): (1 − p_y(z)) · Σ_k (z_k/‖z‖ − z'_k/‖z'‖)². */
function nmseHand(z: number[], za: number[], y: number): number {
  const n = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const dist = z.reduce((s, _, k) => s + (z[k] / n(z) - za[k] / n(za)) ** 2, 0);
  const e = z.map((v) => Math.exp(v - Math.max(...z)));
  return (1 - e[y] / e.reduce((a, b) => a + b, 0)) * dist;
}

test("NMSE reductions: 'sum' is the batch mean of the per-example distance, 'mean' that divided by the K classes", () => {
  const Z = [
    [1.0, -0.5, 2.0, 0.1],
    [0.3, 0.2, -1.1, 0.7],
    [-1, 0.5, 0.5, 2],
  ];
  const ZA = [
    [0.2, 0.9, 1.0, -0.3],
    [-0.4, 1.5, 0.1, 0.2],
    [0.1, 0.1, 0.4, 1.9],
  ];
  const Y = [2, 0, 3];
  const hand = Z.reduce((s, z, i) => s + nmseHand(z, ZA[i], Y[i]), 0) / Z.length;
  const got = (r: 'sum' | 'mean') => tf.tidy(() => nmseTerm(tf.tensor2d(Z), tf.tensor2d(ZA), tf.tensor1d(Y, 'int32'), r).dataSync()[0]);
  assert.ok(Math.abs(got('sum') - hand) < 1e-5, `sum: ${got('sum')} vs ${hand}`);
  assert.ok(Math.abs(got('mean') - hand / 4) < 1e-6, `mean: ${got('mean')} vs ${hand / 4}`);
  // the default is 'sum', recorded only when not the default (older run folders keep their identity)
  assert.equal(nmse().config.reduction, undefined);
  assert.equal(nmse({ reduction: 'mean' }).config.reduction, 'mean');
  assert.throws(() => nmse({ reduction: 'max' as never }), /NMSE reduction/);
});

test('the Best split (held-out training images) never overlaps the training images or the test set', () => {
  for (const profile of PROFILES.filter((p) => p !== 'paper')) {
    const c = poolConfig(profile);
    const d = poolData(c);
    const s = poolSplits(c, 60000);
    if (!c.validationSize) {
      assert.equal(d.validation, undefined, `${profile}: no validation split configured`);
      continue;
    }
    assert.ok(s.validation, profile);
    const [t0, t1] = s.train;
    const [v0, v1] = s.validation as [number, number];
    assert.ok(t1 <= v0 || v1 <= t0, `${profile}: training [${t0}, ${t1}) and validation [${v0}, ${v1}) overlap`);
    assert.equal(d.validation?.size, c.validationSize);
    // the same images, byte for byte, are not in the training subset (a duplicate-free check on the real data)
    const key = (ds: NonNullable<typeof d.validation>, i: number) =>
      Buffer.from(
        ds.features.buffer,
        ds.features.byteOffset + i * ds.featureSize * ds.features.BYTES_PER_ELEMENT,
        ds.featureSize * ds.features.BYTES_PER_ELEMENT,
      ).toString('base64');
    const trainKeys = new Set(Array.from({ length: d.train.size }, (_, i) => key(d.train, i)));
    const shared = Array.from({ length: (d.validation as NonNullable<typeof d.validation>).size }, (_, i) =>
      key(d.validation as NonNullable<typeof d.validation>, i),
    ).filter((k) => trainKeys.has(k));
    assert.equal(shared.length, 0, `${profile}: ${shared.length} validation images also in the training subset`);
    // validation comes from the training split: it cannot be the test set
    assert.ok(!d.validation?.name.includes('test'), d.validation?.name);
  }
  assert.throws(() => poolSplits({ trainSize: 59600, validationSize: 500 }, 60000), /exceed the training set/);
});

test('the trainer records training-subset and validation accuracy per epoch and picks Best on the validation split', async () => {
  const all = twoCircles({ perClass: 60, seed: 5 });
  const trainSet = all.take(80);
  const validation = all.slice(80, 100);
  const test_ = all.slice(100);
  const model = mlp({ inputDim: 3, numClasses: 2, hidden: [8], seed: 2 });
  const before = tf.memory().numTensors;
  const r = await train({
    model,
    objective: pgdAt({ attack: { eps: 0.05, alpha: 0.02, steps: 2 } }),
    train: trainSet,
    test: test_,
    validation,
    config: {
      epochs: 3,
      batchSize: 20,
      seed: 1,
      optimizer: { lr: 0.1 },
      eval: { n: 20, attack: { eps: 0.05, alpha: 0.02, steps: 2 }, trainN: 40 },
    },
    progress: false,
  });
  for (const rec of r.records)
    for (const k of ['trainCleanAcc', 'trainRobustAcc', 'valCleanAcc', 'valRobustAcc'] as const)
      assert.equal(typeof rec[k], 'number', `epoch ${rec.epoch} ${k}`);
  const bestVal = Math.max(...r.records.map((x) => x.valRobustAcc as number));
  assert.equal(r.best?.selectedOn, 'validation');
  assert.equal(r.best?.robustAcc, bestVal);
  assert.equal(r.records[(r.best?.epoch as number) - 1].valRobustAcc, bestVal);
  assert.equal(tf.memory().numTensors, before, 'no tensor leaked by the extra evaluations');
  model.dispose();
  await assert.rejects(
    () =>
      train({
        model: mlp({ inputDim: 3, numClasses: 2, hidden: [4], seed: 1 }),
        objective: pgdAt(),
        train: trainSet,
        config: { epochs: 1, batchSize: 20, seed: 1, optimizer: { lr: 0.1 }, eval: { n: 5, trainN: 500 } },
        test: test_,
        progress: false,
      }),
    /trainN = 500 exceeds/,
  );
});

test('the overfitting criterion on constructed curves: a fall of 3 points after the peak with rising training robustness, on ≥ 1000 images', async () => {
  const { searchVerdict } = await import('../../src/experiments/overfit-search');
  const run = (test_: number[], train_: number[], testSize = 1000) =>
    searchVerdict({
      setting: 's',
      seed: 1,
      config: { ...poolConfig('overfit'), testSize },
      run: {
        method: 'PGD-AT',
        runDir: '',
        oscillation: {} as never,
        records: test_.map((r, i) => ({
          epoch: i + 1,
          lr: 0,
          loss: {},
          cleanAcc: 0,
          robustAcc: r,
          trainRobustAcc: train_[i],
          trainSeconds: 0,
          evalSeconds: 0,
        })),
      },
    });
  const rise = [0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75];
  // peaks at 0.50 (3-epoch average 0.48) and ends at 0.43 (average 0.44): a 4-point fall, training rising
  const over = run([0.3, 0.45, 0.5, 0.5, 0.48, 0.45, 0.44, 0.43], rise);
  assert.equal(over.overfits, true, JSON.stringify(over));
  assert.equal(over.peakEpoch, 3);
  // the same test curve with training robustness falling too is not robust overfitting
  assert.equal(run([0.3, 0.45, 0.5, 0.5, 0.48, 0.45, 0.44, 0.43], [...rise].reverse()).overfits, false);
  // a 2-point fall is not enough, and neither is a 4-point fall measured on 500 images
  assert.equal(run([0.3, 0.45, 0.5, 0.5, 0.49, 0.48, 0.48, 0.48], rise).overfits, false);
  assert.equal(run([0.3, 0.45, 0.5, 0.5, 0.48, 0.45, 0.44, 0.43], rise, 500).overfits, false);
  // one noisy dip that recovers is smoothed away
  assert.equal(run([0.3, 0.45, 0.5, 0.5, 0.4, 0.5, 0.5, 0.5], rise).overfits, false);
});

test('pooledFall: the falls of the runs that fit their training images, over all settings', async () => {
  const { pooledFall, searchSummary } = await import('../../src/experiments/overfit-search');
  const v = (setting: string, fall: number, trainFinal: number | null, testImages = 1000) => ({
    setting,
    seed: 1,
    testImages,
    evalEvery: 10,
    peak: 0.6,
    peakEpoch: 20,
    final: 0.6 - fall,
    fall,
    trainAtPeak: 0.7,
    trainFinal,
    overfits: fall >= 0.03,
  });
  const vs = [
    v('a', 0.02, 0.95),
    v('a', 0.04, 0.93),
    v('b', 0.01, 0.91),
    v('b', 0.03, 0.97),
    v('c', 0.09, 0.8),
    v('d', 0.09, 0.99, 500),
    v('e', 0.09, null),
  ];
  const p = pooledFall(vs);
  // c (not fitted), d (500 test images) and e (no training evaluation) are left out
  assert.equal(p?.runs, 4);
  assert.ok(Math.abs((p?.mean as number) - 0.025) < 1e-12);
  assert.ok(Math.abs((p?.std as number) - Math.sqrt(0.0005 / 3)) < 1e-12);
  assert.equal(p?.reached, 2);
  assert.equal(p?.allThree, 0.125);
  // t interval over 4 runs: 0.025 ± 3.182 · std / 2
  const half = (3.182 * Math.sqrt(0.0005 / 3)) / 2;
  assert.ok(Math.abs((p?.interval.hi as number) - (0.025 + half)) < 1e-12);
  assert.equal(p?.belowCriterion, 'inconclusive', 'a mean of 2.5 points with an interval reaching past 3');
  const tight = pooledFall([0.02, 0.021, 0.019, 0.02].map((f) => v('a', f, 0.95)));
  assert.equal(tight?.belowCriterion, 'holds', 'falls of 2 ± 0.1 points are clearly below 3');
  assert.equal(pooledFall([0.05, 0.051, 0.049].map((f) => v('a', f, 0.95)))?.belowCriterion, 'does not hold');
  assert.equal(pooledFall([v('a', 0.02, 0.95)]), null, 'one run has no spread');
  assert.doesNotMatch(searchSummary(vs), /left out/, 'nothing re-evaluated, nothing said about it');
  assert.match(
    searchSummary(vs),
    /the 4 runs that fit their training images .* fall by 2\.50 ± 1\.29 points .* 2 of 4 reach 3 points\. .* probability 0\.125.* interval, .* is \[-?\d+\.\d\d, \d+\.\d\d\] points: "the typical fall at this size is below 3 points" is \*\*inconclusive\*\*/,
  );
});

test('a re-measuring search setting trains as its source does (it differs only in what is evaluated) and the pooled fall counts its runs once', async () => {
  const { SEARCH_SETTINGS, EVALUATION_ONLY_KEYS, searchConfig, searchSettingsTable, pooledFall, searchSummary } =
    await import('../../src/experiments/overfit-search');
  const remeasuring = SEARCH_SETTINGS.filter((x) => x.remeasures);
  assert.ok(remeasuring.length > 0);
  const trainingPart = (c: object) =>
    Object.fromEntries(Object.entries(c).filter(([k]) => !(EVALUATION_ONLY_KEYS as readonly string[]).includes(k)));
  for (const r of remeasuring) {
    const source = SEARCH_SETTINGS.find((x) => x.name === r.remeasures);
    assert.ok(source, `${r.name} re-measures '${r.remeasures}', which is not a setting`);
    for (const seed of [1, 2])
      assert.deepEqual(trainingPart(searchConfig('overfit', r, seed)), trainingPart(searchConfig('overfit', source, seed)), r.name);
  }
  const [r] = remeasuring;
  // notebook 11's table of settings says which re-measures what, and how often each is evaluated
  const row = searchSettingsTable('overfit').find((x) => x.setting === r.name);
  assert.equal(row?.['re-measures'], r.remeasures);
  assert.equal(row?.['evaluated every (epochs)'], r.overrides.evalEvery);
  const v = (setting: string, seed: number, fall: number, evalEvery: number) => ({
    setting,
    seed,
    testImages: 1000,
    evalEvery,
    peak: 0.6,
    peakEpoch: 20,
    final: 0.6 - fall,
    fall,
    trainAtPeak: 0.7,
    trainFinal: 0.95,
    overfits: fall >= 0.03,
  });
  const vs = [v(r.remeasures as string, 1, 0.02, 10), v(r.remeasures as string, 2, 0.03, 10), v(r.name, 1, 0.04, 5), v(r.name, 2, 0.05, 5)];
  assert.equal(pooledFall(vs)?.runs, 2);
  assert.equal(pooledFall(vs)?.remeasuredLeftOut, 2);
  assert.ok(Math.abs((pooledFall(vs)?.mean as number) - 0.025) < 1e-12);
  assert.match(
    searchSummary(vs),
    new RegExp(
      `\\*\\*${r.name} \\(re-evaluates the training of ${r.remeasures}.*, every 5th epoch\\)\\*\\*: meets the criterion in 2 of 2 seeds`,
    ),
  );
  assert.match(
    searchSummary(vs),
    /\(2 re-evaluated runs left out: their trainings are counted once, under the setting re-evaluated\): the 2 runs/,
  );
  // without its source's run of the same seed a re-evaluating run stands for its training: seed 3 counts, seed 1 does not
  const alone = pooledFall([v(r.remeasures as string, 1, 0.02, 10), v(r.name, 1, 0.04, 5), v(r.name, 3, 0.05, 5)]);
  assert.equal(alone?.runs, 2);
  assert.equal(alone?.remeasuredLeftOut, 1);
  assert.ok(Math.abs((alone?.mean as number) - 0.035) < 1e-12);
  assert.match(searchSummary([v(r.name, 1, 0.04, 1)]), /every epoch\)/);
});

test('evaluating more or less often, or on a held-out split too, leaves the training unchanged: the same seed gives the same losses at every epoch', async () => {
  const all = twoCircles({ perClass: 40, seed: 6 });
  const losses = async (every: number, heldOut: boolean) => {
    const model = mlp({ inputDim: 3, numClasses: 2, hidden: [8], seed: 3 });
    const r = await train({
      model,
      objective: pgdAt({ attack: { eps: 0.05, alpha: 0.02, steps: 2 } }),
      train: all.take(60),
      test: all.slice(60),
      validation: heldOut ? all.slice(60).take(10) : undefined,
      config: {
        epochs: 4,
        batchSize: 20,
        seed: 1,
        optimizer: { lr: 0.1 },
        eval: { n: 20, attack: { eps: 0.05, alpha: 0.02, steps: 2, randomStart: true }, every, trainN: 20 },
      },
      progress: false,
    });
    model.dispose();
    return r.records.map((x) => x.loss.total);
  };
  const every3 = await losses(3, false);
  assert.deepEqual(await losses(1, true), every3);
  assert.deepEqual(await losses(2, false), every3);
});

test('eval.every: only every n-th epoch and the last are evaluated; the others record null and cannot be Best', async () => {
  const all = twoCircles({ perClass: 40, seed: 6 });
  const model = mlp({ inputDim: 3, numClasses: 2, hidden: [8], seed: 3 });
  const r = await train({
    model,
    objective: pgdAt({ attack: { eps: 0.05, alpha: 0.02, steps: 2 } }),
    train: all.take(60),
    test: all.slice(60),
    config: {
      epochs: 5,
      batchSize: 20,
      seed: 1,
      optimizer: { lr: 0.1 },
      eval: { n: 20, attack: { eps: 0.05, alpha: 0.02, steps: 2 }, every: 2, trainN: 20 },
    },
    progress: false,
  });
  assert.deepEqual(
    r.records.map((x) => x.robustAcc === null),
    [true, false, true, false, false],
  );
  assert.deepEqual(
    r.records.map((x) => x.trainRobustAcc === undefined || x.trainRobustAcc === null),
    [true, false, true, false, false],
  );
  assert.ok([2, 4, 5].includes(r.best?.epoch as number), `best at ${r.best?.epoch}`);
  model.dispose();
});
