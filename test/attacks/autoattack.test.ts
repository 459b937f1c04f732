import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { mlp } from '../../src/models/mlp';
import { loadMnistDigits } from '../../src/data/images';
import { ArrayDataset } from '../../src/data/dataset';
import { train } from '../../src/train/trainer';
import { standard } from '../../src/objectives/pgd-at';
import { evaluate } from '../../src/eval/evaluate';
import { apgdCheckpoints, apgd } from '../../src/attacks/autoattack/apgd';
import { dlrLoss, dlrTargetedLoss } from '../../src/attacks/autoattack/losses';
import { orderDescending, projectionLinf } from '../../src/attacks/autoattack/fab';
import { squareAttack, squareP } from '../../src/attacks/autoattack/square';
import { autoAttack } from '../../src/attacks/autoattack';
import { Rng } from '../../src/util/rng';
import { relDiff, setup, tmpDir, values } from '../helpers';

let model: tf.LayersModel;
let test_: ArrayDataset;
const eps = 0.1;
const fast = { apgdSteps: 10, targets: 3, squareQueries: 40, fabSteps: 10, batchSize: 50, progress: false };

before(async () => {
  await setup();
  // a 10-class model on real digits, trained briefly
  const trainSet = loadMnistDigits('train').take(2000);
  test_ = loadMnistDigits('test').take(100);
  model = mlp({ inputDim: 784, inputShape: [28, 28, 1], numClasses: 10, hidden: [64], seed: 1 });
  await train({
    model,
    objective: standard(),
    train: trainSet,
    config: { epochs: 4, batchSize: 50, seed: 1, optimizer: { lr: 0.05 } },
    progress: false,
  });
});

test('APGD checkpoints follow the published schedule p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)', () => {
  const oneBased = apgdCheckpoints(100).map((i) => i + 1);
  assert.deepEqual(oneBased, [22, 41, 57, 70, 80, 87, 93, 99]);
  // the same from the paper's recursion
  const p = [0, 0.22];
  while (p[p.length - 1] < 1) p.push(p[p.length - 1] + Math.max(p[p.length - 1] - p[p.length - 2] - 0.03, 0.06));
  assert.deepEqual(
    p.slice(1, -1).map((v) => Math.ceil((Math.round(v * 1e6) / 1e6) * 100)),
    oneBased,
  );
});

test('DLR and targeted DLR on a hand-computed case', () => {
  const z = [
    [3, 1, 2, 0.5],
    [0.2, 4, 1, 3],
  ];
  const y = [0, 3];
  const got = values(tf.tidy(() => dlrLoss(tf.tensor2d(z), tf.tensor1d(y, 'int32'))));
  // ex 0: y is top: −(3 − 2)/(3 − 1); ex 1: y is 2nd: −(3 − 4)/(4 − 1)
  assert.ok(relDiff(got[0], -(3 - 2) / (3 - 1)) < 1e-6 && relDiff(got[1], -(3 - 4) / (4 - 1)) < 1e-6, String(got));
  const gt = values(tf.tidy(() => dlrTargetedLoss(tf.tensor2d(z), tf.tensor1d(y, 'int32'), tf.tensor1d([2, 1], 'int32'))));
  assert.ok(relDiff(gt[0], -(3 - 2) / (3 - 0.5 * (1 + 0.5))) < 1e-6 && relDiff(gt[1], -(3 - 4) / (4 - 0.5 * (1 + 0.2))) < 1e-6, String(gt));
});

test('FAB projection: orderDescending sorts each row largest first; the projection does not depend on how ties are ordered', () => {
  const v = new Float32Array([0.5, -1, 0, 2, -0.25, 0.5, 1e-30, -1e-30]);
  const ord = orderDescending(v, 2, 4);
  assert.deepEqual(
    Array.from(ord.slice(0, 4)).map((i) => v[i]),
    [2, 0.5, 0, -1],
  );
  assert.deepEqual(
    Array.from(ord.slice(4)).map((i) => v[4 + i]),
    [v[5], v[6], v[7], v[4]],
  );
  // pixel-like inputs: many equal values (0, 1, k/255), so many ties among the breakpoints
  const rng = new Rng(11);
  const rows = 20;
  const dim = 64;
  const t = Float32Array.from({ length: rows * dim }, () => (rng.next() < 0.4 ? 0 : Math.round(rng.next() * 8) / 8));
  const w = Float32Array.from({ length: rows * dim }, () => (rng.next() < 0.2 ? 0 : rng.next() - 0.5));
  const b = Float32Array.from({ length: rows }, () => rng.next() * 2 - 1);
  // the same p the projection sorts; ties put in the opposite order (highest index first)
  const p = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let wt = 0;
    for (let i = 0; i < dim; i++) wt += w[r * dim + i] * t[r * dim + i];
    const sign = wt - b[r] >= 0 ? 1 : -1;
    for (let i = 0; i < dim; i++) {
      const a = w[r * dim + i] * sign < 0 ? 1 : 0;
      p[r * dim + i] = a - t[r * dim + i] * (2 * a - 1);
    }
  }
  const reversedTies = new Int32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const idx = Array.from({ length: dim }, (_, i) => i).sort((i, j) => p[r * dim + j] - p[r * dim + i] || j - i);
    reversedTies.set(idx, r * dim);
  }
  const a = projectionLinf(t, w, b, rows, dim);
  const c = projectionLinf(t, w, b, rows, dim, reversedTies);
  assert.deepEqual(Array.from(a), Array.from(c));
});

test('FAB projection: reaches the hyperplane inside the box with the minimal L∞ step', () => {
  // hand case: ⟨(1,1), t + d⟩ = 1.5 from t = (0.5, 0.5): d = (0.25, 0.25)
  const d = projectionLinf(new Float32Array([0.5, 0.5]), new Float32Array([1, 1]), new Float32Array([1.5]), 1, 2);
  assert.ok(Math.abs(d[0] - 0.25) < 1e-6 && Math.abs(d[1] - 0.25) < 1e-6, String(d));
  const rng = new Rng(3);
  for (let trial = 0; trial < 50; trial++) {
    const dim = 4;
    const t = Float32Array.from({ length: dim }, () => rng.next());
    const w = Float32Array.from({ length: dim }, () => rng.next() * 2 - 1);
    const wt = t.reduce((s, v, i) => s + v * w[i], 0);
    const b = wt + (rng.next() - 0.5) * 0.8;
    // reachable values of ⟨w, t + d⟩ with |d|∞ ≤ λ inside the box
    const range = (lam: number) => {
      let lo = 0,
        hi = 0;
      for (let i = 0; i < dim; i++) {
        const a = Math.max(0, t[i] - lam),
          c = Math.min(1, t[i] + lam);
        lo += Math.min(w[i] * a, w[i] * c);
        hi += Math.max(w[i] * a, w[i] * c);
      }
      return [lo, hi];
    };
    const [lo1, hi1] = range(1);
    if (b < lo1 || b > hi1) continue; // unreachable in the box
    let lo = 0,
      hi = 1;
    for (let k = 0; k < 60; k++) {
      const mid = (lo + hi) / 2;
      const [a, c] = range(mid);
      if (b >= a && b <= c) hi = mid;
      else lo = mid;
    }
    const got = projectionLinf(t, w, new Float32Array([b]), 1, dim);
    const norm = Math.max(...Array.from(got).map(Math.abs));
    const reached = Array.from(got).reduce((s, v, i) => s + w[i] * (t[i] + v), 0);
    assert.ok(Math.abs(reached - b) < 1e-4, `trial ${trial}: ⟨w, t+d⟩ = ${reached}, want ${b}`);
    assert.ok(Math.abs(norm - hi) < 1e-4, `trial ${trial}: |d|∞ = ${norm}, minimal ${hi}`);
    Array.from(got).forEach((v, i) => assert.ok(t[i] + v >= -1e-6 && t[i] + v <= 1 + 1e-6));
  }
});

test('Square: p schedule, never more than its query budget, stays in the ε-ball', () => {
  assert.deepEqual(
    [0, 10, 11, 50, 51, 200, 201, 9000].map((i) => squareP(i)),
    [0.8, 0.8, 0.4, 0.4, 0.2, 0.2, 0.1, 0.8 / 512],
  );
  const img = new ArrayDataset(
    'img',
    new Float32Array(6 * 8 * 8 * 1).map((_, i) => (i % 7) / 7),
    new Int32Array(6).map((_, i) => i % 2),
    [8, 8, 1],
    2,
  );
  const cnn = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [8, 8, 1] }),
      tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
    ],
  });
  const { x, y } = img.head();
  const r = squareAttack(cnn, x, y, { eps: 0.05, queries: 30, seed: 1 });
  r.queries.forEach((q) => assert.ok(q <= 31, `queries ${q} > budget 30 + initial evaluation`));
  const a = values(r.adv),
    o = values(x);
  a.forEach((v, i) => assert.ok(v >= 0 && v <= 1 && Math.abs(v - o[i]) <= 0.05 + 1e-6));
  tf.dispose([x, y, r.adv]);
  cnn.dispose();
});

test('on a trained model: AutoAttack ≤ PGD20 ≤ clean, with the reference log order', () => {
  const rows = evaluate(model, test_, { attacks: ['clean', 'pgd20'], eps, alpha: eps / 4, progress: false });
  const aa = autoAttack(model, test_, { eps, ...fast });
  assert.deepEqual(
    aa.log.map((l) => l.stage),
    ['clean', 'apgd-ce', 'apgd-t', 'fab-t', 'square'],
  );
  const clean = rows[0].accuracy,
    pgd20 = rows[1].accuracy;
  assert.ok(clean > 0.6, `precondition: trained (clean ${clean})`);
  assert.equal(aa.log[0].robustAccuracy, clean);
  assert.ok(aa.robustAccuracy <= pgd20 + 0.02 && pgd20 <= clean, `AA ${aa.robustAccuracy}, PGD20 ${pgd20}, clean ${clean}`);
  for (let i = 1; i < aa.log.length; i++)
    assert.ok(aa.log[i].robustAccuracy <= aa.log[i - 1].robustAccuracy, 'robust accuracy never rises across stages');
});

test('APGD: same seed, same adversarial examples; inside the ε-ball', () => {
  const { x, y } = test_.head(20);
  const a = apgd(model, x, y, { eps, steps: 10, seed: 4 });
  const b = apgd(model, x, y, { eps, steps: 10, seed: 4 });
  assert.deepEqual(values(a.adv), values(b.adv));
  const o = values(x);
  values(a.adv).forEach((v, i) => assert.ok(Math.abs(v - o[i]) <= eps + 1e-6 && v >= 0 && v <= 1));
  tf.dispose([x, y, a.adv, b.adv]);
});

test('an interrupted AutoAttack resumes from its saved state and gives the same result', () => {
  const dir = tmpDir();
  const statePath = path.join(dir, 'aa-state.json');
  const opts = { eps, version: 'custom' as const, attacks: ['apgd-ce' as const, 'square' as const], ...fast, batchSize: 10, statePath };
  const full = autoAttack(model, test_, { ...opts, statePath: path.join(dir, 'other.json') });
  let batches = 0;
  const cut = autoAttack(model, test_, { ...opts, shouldStop: () => ++batches === 3 }); // stops inside the apgd-ce stage
  assert.equal(cut.interrupted, true);
  assert.equal(cut.log.length, 1, 'only clean logged before the stop');
  const resumed = autoAttack(model, test_, opts);
  assert.ok(!resumed.interrupted);
  assert.deepEqual(resumed.robust, full.robust);
  assert.deepEqual(
    resumed.log.map((l) => [l.stage, l.robustAccuracy]),
    full.log.map((l) => [l.stage, l.robustAccuracy]),
  );
  assert.throws(() => autoAttack(model, test_, { ...opts, eps: 0.2 }), /belongs to another AutoAttack run/);
  assert.throws(
    () => autoAttack(model, test_, { eps, version: 'custom', attacks: ['deepfool' as never] }),
    /Unknown AutoAttack attack 'deepfool'/,
  );
});

test('a full AutoAttack run leaves no tensors behind', () => {
  const before = tf.memory().numTensors;
  autoAttack(model, test_.take(30), { eps, ...fast, batchSize: 15 });
  assert.equal(tf.memory().numTensors, before);
});
