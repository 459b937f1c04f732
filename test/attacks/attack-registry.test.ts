/**
 * Every attack of the registry (src/attacks/registry.ts), as torchattacks tests every attack of its
 * __all__: inside its ε-ball, inside [0, 1], and never raising accuracy. A new registry entry is
 * picked up here without editing this file.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mlp } from '../../src/models/mlp';
import { loadMnistDigits } from '../../src/data/images';
import { ArrayDataset } from '../../src/data/dataset';
import { train } from '../../src/train/trainer';
import { standard } from '../../src/objectives/pgd-at';
import { accuracy } from '../../src/eval/accuracy';
import { evaluate } from '../../src/eval/evaluate';
import { ATTACKS, AttackEntry, attackExamples, AttackSettings, resolveAttack } from '../../src/attacks/registry';
import { PiatError } from '../../src/util/errors';
import { setup, values } from '../helpers';

let model: tf.LayersModel;
let data: ArrayDataset;
// small budgets: the properties hold at any budget
const settings: AttackSettings = { eps: 0.1, alpha: 0.025, seed: 3, aa: { apgdSteps: 8, targets: 3, squareQueries: 30, fabSteps: 8 } };

before(async () => {
  await setup();
  // 10 classes: AutoAttack's targeted components need at least targets + 1
  model = mlp({ inputDim: 784, inputShape: [28, 28, 1], numClasses: 10, hidden: [32], seed: 2 });
  await train({
    model,
    objective: standard(),
    train: loadMnistDigits('train').take(1000),
    config: { epochs: 3, batchSize: 50, seed: 1, optimizer: { lr: 0.05 } },
    progress: false,
  });
  data = loadMnistDigits('test').take(40);
  assert.ok(accuracy(model, data) > 0.5, 'precondition: a model that classifies most digits');
});

for (const name of attackExamples()) {
  const { entry, steps } = resolveAttack(name);
  const claim =
    entry.kind === 'dataset'
      ? 'robust accuracy at most the clean accuracy'
      : 'stays in its ε-ball and in [0, 1] and does not raise accuracy';
  test(`registry: ${name} ${claim}`, () => {
    const clean = accuracy(model, data);
    if (entry.kind === 'dataset') {
      const [c, a] = evaluate(model, data, {
        attacks: ['clean', name],
        eps: settings.eps,
        alpha: settings.alpha,
        seed: settings.seed,
        aa: settings.aa,
        progress: false,
      });
      assert.equal(c.accuracy, clean);
      assert.ok(a.accuracy <= clean, `${name}: ${a.accuracy} > clean ${clean}`);
      return;
    }
    const { x, y } = data.head(data.size);
    const xa = entry.kind === 'batch' ? entry.make(settings, steps)(model, x, y) : x;
    assert.deepEqual(xa.shape, x.shape);
    const a = values(xa);
    const o = values(x);
    a.forEach((v, i) =>
      assert.ok(v >= 0 && v <= 1 && Math.abs(v - o[i]) <= settings.eps + 1e-6, `${name}: element ${i} is ${v}, clean ${o[i]}`),
    );
    const attacked = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.predict(xa) as tf.Tensor, 1), y), 'float32')).dataSync()[0]);
    assert.ok(attacked <= clean + 1e-9, `${name}: accuracy ${attacked} > clean ${clean}`);
    if (entry.kind === 'batch') assert.ok(attacked < clean, `${name}: an attack that changes nothing on a plainly trained model`);
    tf.dispose(xa === x ? [x, y] : [x, y, xa]);
  });
}

// with batch norm: an attack runs the model in inference mode, so neither its weights nor the
// running statistics move, and the ε-ball holds the same
let bnModel: tf.LayersModel;
before(async () => {
  bnModel = mlp({ inputDim: 784, inputShape: [28, 28, 1], numClasses: 10, hidden: [32], batchNorm: true, seed: 4 });
  await train({
    model: bnModel,
    objective: standard(),
    train: loadMnistDigits('train').take(500),
    config: { epochs: 1, batchSize: 50, seed: 1, optimizer: { lr: 0.05 } },
    progress: false,
  });
});

for (const name of attackExamples()) {
  const { entry, steps } = resolveAttack(name);
  test(`registry: ${name} on a batch-norm model leaves its weights and running statistics as they were, and stays in its ε-ball`, () => {
    const before = bnModel.getWeights().map((w) => values(w));
    assert.ok(
      bnModel.weights.some((w) => /moving_(mean|variance)/.test(w.name)),
      'the model has batch-norm running statistics',
    );
    if (entry.kind === 'dataset') {
      evaluate(bnModel, data, {
        attacks: [name],
        eps: settings.eps,
        alpha: settings.alpha,
        seed: settings.seed,
        aa: settings.aa,
        progress: false,
      });
    } else {
      const { x, y } = data.head(data.size);
      const xa = entry.kind === 'batch' ? entry.make(settings, steps)(bnModel, x, y) : x;
      const a = values(xa);
      const o = values(x);
      a.forEach((v, i) =>
        assert.ok(v >= 0 && v <= 1 && Math.abs(v - o[i]) <= settings.eps + 1e-6, `${name}: element ${i} is ${v}, clean ${o[i]}`),
      );
      tf.dispose(xa === x ? [x, y] : [x, y, xa]);
    }
    bnModel.getWeights().forEach((w, k) => assert.deepEqual(values(w), before[k], `${name}: weight ${bnModel.weights[k].name} changed`));
  });
}

test('registry: every entry says what it is and where it comes from; names resolve as documented', () => {
  for (const [id, e] of Object.entries(ATTACKS) as [string, AttackEntry][]) {
    assert.ok(e.summary.length > 10, `${id}: summary`);
    if (e.kind !== 'clean') assert.ok(e.source.length > 3, `${id}: source`);
  }
  assert.equal(resolveAttack('pgd7').steps, 7);
  assert.equal(resolveAttack('cw').steps, 20, "cw alone is the paper's CW20");
  assert.equal(resolveAttack('apgd-t').id, 'apgd-t');
  const refused = (name: string, re: RegExp) =>
    assert.throws(
      () => resolveAttack(name),
      (e: unknown) => e instanceof PiatError && re.test(e.message),
      name,
    );
  refused('pgd', /Attack 'pgd' needs a step count, e\.g\. pgd20/);
  refused('deepfool', /Unknown attack 'deepfool'\. Expected one of: clean, .*\bpgdN, cwN\b.*, aa \(N = steps, e\.g\. pgd20, cw20/);
  refused('pgd-20', /did you mean pgd20\?/);
  refused('fgsm3', /Unknown attack 'fgsm3'/);
});
