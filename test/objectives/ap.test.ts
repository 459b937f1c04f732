import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { vit, withGradientDropping } from '../../src/models/vit';
import { ap } from '../../src/objectives/ap';
import { apRate, patchMask } from '../../src/attacks/ap';
import { logits } from '../../src/models/forward';
import { crossEntropy } from '../../src/attacks/losses';
import { methodSpec } from '../../src/experiments/methods';
import { Rng } from '../../src/util/rng';
import { setup, values } from '../helpers';

before(setup);

const tiny = () => vit({ numClasses: 3, inputShape: [8, 8, 1], patch: 4, dim: 8, depth: 2, heads: 2, seed: 3 });

test('A&P: the drop rate ramps linearly to its final value; PRM masks whole patches', () => {
  assert.deepEqual(
    [0, 5, 10, 20].map((e) => apRate(e, 1, 10)),
    [0, 0.5, 1, 1],
  );
  const m = patchMask(8, 8, 4, 3, new Rng(1));
  const v = values(m);
  assert.equal(v.filter((x) => x === 0).length, 3 * 16, 'three 4×4 patches zeroed');
  for (const [r, c] of [
    [0, 0],
    [0, 4],
    [4, 0],
    [4, 4],
  ]) {
    const patch = [0, 1, 2, 3].flatMap((i) => [0, 1, 2, 3].map((j) => v[(r + i) * 8 + c + j]));
    assert.ok(
      patch.every((x) => x === patch[0]),
      'a patch is masked whole or not at all',
    );
  }
  m.dispose();
});

test('ARD: keep = 1 leaves the input gradient unchanged; keep = 0 cuts every residual branch; outside it nothing changes', () => {
  const model = tiny();
  const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 1);
  const y = tf.tensor1d([0, 2], 'int32');
  const g = () => tf.grad((xa: tf.Tensor) => crossEntropy(logits(model, xa, false), y))(x);
  const plain = values(g());
  assert.deepEqual(values(withGradientDropping(1, () => 0.5, g)), plain);
  const cut = values(withGradientDropping(0, () => 0.5, g));
  assert.ok(
    cut.some((v, i) => Math.abs(v - plain[i]) > 1e-7),
    'dropping branch gradients changes the input gradient',
  );
  assert.deepEqual(values(g()), plain, 'the gate is the identity again outside the context');
  // the forward pass is never changed
  const z0 = values(logits(model, x, false));
  assert.deepEqual(
    values(
      withGradientDropping(
        0,
        () => 0.5,
        () => logits(model, x, false),
      ),
    ),
    z0,
  );
  tf.dispose([x, y]);
  model.dispose();
});

test('A&P attack: inside the ε-ball; at epoch 0 (everything masked) only the last step survives, later it is full PGD', () => {
  const model = tiny();
  const x = tf.randomUniform([4, 8, 8, 1], 0.2, 0.8, 'float32', 2);
  const y = tf.tensor1d([0, 1, 2, 0], 'int32');
  const attack = { eps: 0.1, alpha: 0.03, steps: 6 };
  const o = ap({ patch: 4, rampEpochs: 4, attack });
  const linf = (epoch: number) =>
    tf.tidy(() => tf.max(tf.abs(tf.sub(o.adversarial(model, x, y, { rng: new Rng(5), epoch }) as tf.Tensor, x))).dataSync()[0]);
  const early = linf(0);
  const late = linf(10);
  assert.ok(early <= 0.03 + 1e-6, `epoch 0: ${early} <= α`);
  assert.ok(late <= 0.1 + 1e-6 && late > 0.09, `later: ${late} reaches ε`);
  assert.throws(() => ap({ patch: 0 }), /patch size/);
  tf.dispose([x, y]);
  model.dispose();
});

test('methods: "+A&P" names build A&P around their base, with PIAT when asked; unknown combinations are refused', () => {
  const ctx = { attack: { eps: 0.1, alpha: 0.03, steps: 2 }, numClasses: 3, epochs: 4, apPatch: 4 };
  const m = methodSpec('PIAT+TRADES+A&P', ctx);
  assert.equal(m.objective().name, 'trades+ap');
  assert.deepEqual(
    m.hooks!({}).map((h) => h.name),
    ['piat'],
  );
  assert.throws(() => methodSpec('ALP+A&P', ctx), /Unknown method 'ALP\+A&P'/);
  assert.throws(() => methodSpec('PGD-AT+A&P', { ...ctx, apPatch: undefined }), /patch size/);
});
