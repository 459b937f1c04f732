import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mlp } from '../../src/models/mlp';
import { logits } from '../../src/models/forward';
import { betaAt, validateSchedule, DYNAMIC_DEFAULTS } from '../../src/piat/schedule';
import { interpolateWeights, snapshotWeights } from '../../src/piat/interpolate';
import { piat } from '../../src/piat/hook';
import { PiatError } from '../../src/util/errors';
import { setup, values } from '../helpers';

before(setup);

/** A model with batch norm whose running statistics have moved away from their initial values. */
function bnModel(seed: number): tf.LayersModel {
  const m = mlp({ inputDim: 3, numClasses: 2, hidden: [5], batchNorm: true, seed });
  tf.tidy(() => {
    logits(m, tf.randomUniform([16, 3], 0, 1, 'float32', seed), true);
  });
  return m;
}

test('interpolation is exactly β·θ_prev + (1−β)·θ_cur on every weight, BN statistics included', () => {
  const model = bnModel(1);
  const names = model.weights.map((w) => w.name);
  assert.ok(names.some((n) => n.includes('moving_mean')) && names.some((n) => n.includes('moving_variance')));
  const prev = snapshotWeights(model);
  // move every weight, trainable or not, to new values
  tf.tidy(() => {
    model.weights.forEach((w, i) => w.write(tf.add(w.read(), tf.randomNormal(w.shape as number[], 0, 0.1, 'float32', 100 + i))));
  });
  const cur = model.weights.map((w) => values(w.read()));
  const beta = 0.37;
  interpolateWeights(model, prev, beta);
  const b32 = Math.fround(beta);
  const a32 = Math.fround(1 - beta);
  model.weights.forEach((w, i) => {
    const got = values(w.read());
    const p = values(prev[i]);
    assert.ok(got.some((v, j) => p[j] !== cur[i][j]) || p.length === 0, `${w.name} did not change between snapshots`);
    got.forEach((g, j) => {
      const expected = Math.fround(Math.fround(p[j] * b32) + Math.fround(cur[i][j] * a32));
      assert.equal(g, expected, `${w.name}[${j}]`);
    });
  });
  prev.forEach((t) => t.dispose());
  model.dispose();
});

test('β schedule: dynamic values of Eq. 10 and the cap; fixed β', () => {
  const s = { kind: 'dynamic' as const };
  assert.equal(betaAt(s, 0), 0.1);
  assert.equal(betaAt(s, 9), 10 / 19);
  assert.equal(betaAt(s, 49), 50 / 59);
  assert.equal(betaAt(s, 99), 100 / 109);
  assert.equal(Number(betaAt(s, 9).toFixed(2)), 0.53);
  assert.equal(Number(betaAt(s, 49).toFixed(2)), 0.85);
  assert.equal(Number(betaAt(s, 99).toFixed(2)), 0.92);
  assert.equal(betaAt(s, 100000), DYNAMIC_DEFAULTS.betaMax);
  for (let k = 1; k < 500; k++) assert.ok(betaAt(s, k) >= betaAt(s, k - 1), 'β never decreases');
  assert.equal(betaAt({ kind: 'dynamic', betaMax: 0.9, a: 2, b: 4 }, 0), 0.5);
  assert.equal(betaAt({ kind: 'fixed', beta: 0.7 }, 0), 0.7);
  assert.equal(betaAt({ kind: 'fixed', beta: 0.7 }, 123), 0.7);
  assert.throws(() => validateSchedule({ kind: 'fixed', beta: 1.5 }), /fixed β must be in \[0, 1\]/);
  assert.throws(
    () => validateSchedule({ kind: 'wobbly' } as never),
    (e: unknown) => e instanceof PiatError && /Unknown β schedule kind 'wobbly'/.test(e.message),
  );
});

test('PIAT hook: no interpolation during warm-up, then β_k with k counting interpolations', () => {
  const model = bnModel(3);
  const hook = piat({ warmupEpochs: 2 });
  const betas: (number | null)[] = [];
  for (let epoch = 0; epoch < 4; epoch++) {
    hook.onEpochStart({ model });
    const before = values(model.weights[0].read());
    tf.tidy(() => {
      model.weights[0].write(tf.add(model.weights[0].read(), 1));
    });
    const r = hook.onEpochEnd({ model, epoch });
    betas.push(r.beta);
    const after = values(model.weights[0].read());
    const b = r.beta ?? 0;
    after.forEach((v, j) => assert.ok(Math.abs(v - (before[j] + (1 - b))) < 1e-5));
  }
  assert.deepEqual(betas, [null, null, 0.1, 2 / 11]);
  assert.deepEqual(hook.state(), { k: 2 });
  assert.throws(() => piat({ warmupEpochs: -1 }), /warmupEpochs/);
  hook.dispose();
  model.dispose();
});
