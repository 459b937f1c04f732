import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mlp } from '../../src/models/mlp';
import { twoCircles } from '../../src/data/toy';
import { train } from '../../src/train/trainer';
import { standard } from '../../src/objectives/pgd-at';
import { fgsm, ifgsm, mifgsm, cwInf } from '../../src/attacks/iterative';
import { crossEntropyPerExample, marginPerExample } from '../../src/attacks/losses';
import { logits } from '../../src/models/forward';
import { evaluate, bestFinalDiff } from '../../src/eval/evaluate';
import { accuracy } from '../../src/eval/accuracy';
import { setup, values } from '../helpers';

let model: tf.LayersModel;
const data = twoCircles({ perClass: 100, seed: 5 });
const eps = 0.05;

before(async () => {
  await setup();
  model = mlp({ inputDim: 3, numClasses: 2, hidden: [32], seed: 1 });
  await train({
    model,
    objective: standard(),
    train: data,
    config: { epochs: 30, batchSize: 20, seed: 1, optimizer: { lr: 0.1 } },
    progress: false,
  });
  assert.ok(accuracy(model, data) > 0.8, 'precondition: a trained model');
});

const ATTACKS = {
  fgsm: (x: tf.Tensor, y: tf.Tensor1D) => fgsm(model, x, y, { eps }),
  ifgsm: (x: tf.Tensor, y: tf.Tensor1D) => ifgsm(model, x, y, { eps, alpha: eps / 4, steps: 10 }),
  mifgsm: (x: tf.Tensor, y: tf.Tensor1D) => mifgsm(model, x, y, { eps, alpha: eps / 4, steps: 10 }),
  cw: (x: tf.Tensor, y: tf.Tensor1D) => cwInf(model, x, y, { eps, alpha: eps / 4, steps: 10, seed: 2 }),
};

for (const [name, attack] of Object.entries(ATTACKS)) {
  test(`${name}: inside the ε-ball and [0, 1], and raises the loss it maximises`, () => {
    const { x, y } = data.head(200);
    const xa = attack(x, y);
    const a = values(xa),
      o = values(x);
    a.forEach((v, i) => assert.ok(v >= 0 && v <= 1 && Math.abs(v - o[i]) <= eps + 1e-6, `${name}: ${v} vs ${o[i]}`));
    const lossFn = name === 'cw' ? marginPerExample : crossEntropyPerExample;
    const [before, after] = tf.tidy(() => [
      tf.mean(lossFn(logits(model, x), y)).dataSync()[0],
      tf.mean(lossFn(logits(model, xa), y)).dataSync()[0],
    ]);
    assert.ok(after > before, `${name}: loss ${before} -> ${after}`);
    tf.dispose([x, y, xa]);
  });
}

test('evaluate: rows per attack, robust ≤ clean, unknown attacks rejected before any work', () => {
  const rows = evaluate(model, data, { attacks: ['clean', 'fgsm', 'pgd20', 'cw20'], eps, alpha: eps / 4, n: 200, progress: false });
  assert.deepEqual(
    rows.map((r) => r.attack),
    ['clean', 'fgsm', 'pgd20', 'cw20'],
  );
  const acc = Object.fromEntries(rows.map((r) => [r.attack, r.accuracy]));
  assert.ok(acc.pgd20 <= acc.clean && acc.fgsm <= acc.clean && acc.cw20 <= acc.clean);
  assert.ok(acc.pgd20 <= acc.fgsm + 0.02, 'PGD20 is at least about as strong as FGSM');
  assert.throws(() => evaluate(model, data, { attacks: ['clean', 'deepfool'] }), /Unknown attack 'deepfool'/);
  const table = bestFinalDiff(
    rows,
    rows.map((r) => ({ ...r, accuracy: r.accuracy - 0.01 })),
  );
  table.forEach((r) => assert.ok(Math.abs(r.diff - 1) < 1e-9));
});
