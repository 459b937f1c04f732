import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mlp } from '../../src/models/mlp';
import { twoCircles } from '../../src/data/toy';
import { pgd } from '../../src/attacks/pgd';
import { crossEntropy } from '../../src/attacks/losses';
import { logits } from '../../src/models/forward';
import { train } from '../../src/train/trainer';
import { standard } from '../../src/objectives/pgd-at';
import { accuracy } from '../../src/eval/accuracy';
import { setup, values } from '../helpers';

let model: tf.LayersModel;
const data = twoCircles({ perClass: 100, seed: 5 });

before(async () => {
  await setup();
  model = mlp({ inputDim: 3, numClasses: 2, hidden: [32], seed: 1 });
  // a trained model, so that the attack has a real loss surface to climb
  await train({
    model,
    objective: standard(),
    train: data,
    config: { epochs: 30, batchSize: 20, seed: 1, optimizer: { lr: 0.1 } },
    progress: false,
  });
  const acc = accuracy(model, data);
  assert.ok(acc > 0.8, `precondition: the model learned the toy data (clean accuracy ${acc})`);
});

for (const norm of ['linf', 'l2'] as const) {
  test(`PGD (${norm}) stays in the ε-ball and [0, 1], and raises the loss`, () => {
    const eps = norm === 'linf' ? 0.05 : 0.1;
    const { x, y } = data.head(200);
    const xAdv = pgd(model, x, y, { eps, alpha: eps / 4, steps: 10, norm, seed: 3 });
    const xa = values(xAdv);
    const x0 = values(x);
    xa.forEach((v) => assert.ok(v >= 0 && v <= 1, `value ${v} outside [0,1]`));
    if (norm === 'linf') {
      xa.forEach((v, i) => assert.ok(Math.abs(v - x0[i]) <= eps + 1e-6, `|δ| = ${Math.abs(v - x0[i])} > ε`));
    } else {
      for (let i = 0; i < 200; i++) {
        const d = Math.hypot(...[0, 1, 2].map((k) => xa[3 * i + k] - x0[3 * i + k]));
        assert.ok(d <= eps + 1e-5, `‖δ‖₂ = ${d} > ε`);
      }
    }
    const [clean, adv] = tf.tidy(() => [
      crossEntropy(logits(model, x), y).dataSync()[0],
      crossEntropy(logits(model, xAdv), y).dataSync()[0],
    ]);
    assert.ok(adv > clean, `adversarial loss ${adv} should exceed clean loss ${clean}`);
    tf.dispose([x, y, xAdv]);
  });
}

test('PGD: the same seed gives the same adversarial examples, another seed does not; weights untouched', () => {
  const { x, y } = data.head(50);
  const w0 = model.weights.map((w) => values(w.read()));
  const a = values(pgd(model, x, y, { eps: 0.05, alpha: 0.01, steps: 5, seed: 11 }));
  const b = values(pgd(model, x, y, { eps: 0.05, alpha: 0.01, steps: 5, seed: 11 }));
  const c = values(pgd(model, x, y, { eps: 0.05, alpha: 0.01, steps: 5, seed: 12 }));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  model.weights.forEach((w, i) => assert.deepEqual(values(w.read()), w0[i]));
  tf.dispose([x, y]);
});

test('PGD rejects bad options with a clear message', () => {
  const { x, y } = data.head(4);
  assert.throws(() => pgd(model, x, y, { eps: -1, alpha: 0.1, steps: 1 }), /'eps' must be a finite number >= 0/);
  assert.throws(() => pgd(model, x, y, { eps: 0.1, alpha: 0.1, steps: 1.5 }), /'steps' must be an integer/);
  assert.throws(() => pgd(model, x, y, { eps: 0.1, alpha: 0.1, steps: 1, norm: 'l7' as never }), /Unknown PGD norm 'l7'/);
  assert.throws(() => pgd(model, x, y, { eps: 0.1, alpha: 0.1, steps: 1, loss: 'hinge' as never }), /Unknown attack loss 'hinge'/);
  tf.dispose([x, y]);
});
