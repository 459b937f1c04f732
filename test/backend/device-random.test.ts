/**
 * The fused path's random starts drawn on the device (src/backend/torch/device-random.ts, with
 * PIAT_FUSED_MODEL=1): a seeded draw is one native `PiatRandom` call whose numbers depend on the
 * seed alone, lie in range and have the asked-for moments; without the flag, or without a seed,
 * tfjs draws them as before (bit for bit), as with PIAT_DEVICE_RANDOM=0. PGD's uniform start and TRADES's small noise take the
 * device draw, so a seeded attack still repeats exactly.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { startTorchOrSkip, withEnv } from '../helpers';
import type { TorchBackend } from '../../src/backend/torch/backend';
import { randomNormal, randomUniform } from '../../src/attacks/random';
import { pgd } from '../../src/attacks/pgd';
import { smallNoiseStart } from '../../src/objectives/kl';
import { Rng } from '../../src/util/rng';
import { torchPath } from '../../src/backend';

let available = false;
before(async () => {
  available = await startTorchOrSkip();
});

const withFused = <T>(on: boolean, f: () => T): Promise<T> => withEnv({ PIAT_FUSED_MODEL: on ? '1' : '0' }, async () => f());
const draws = () => (tf.backend() as unknown as TorchBackend).calls.get('PiatRandom') ?? 0;
const values = (t: tf.Tensor) => {
  const v = Float32Array.from(t.dataSync());
  t.dispose();
  return v;
};

function moments(v: Float32Array): { mean: number; std: number; min: number; max: number } {
  let s = 0;
  let s2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const x of v) {
    s += x;
    s2 += x * x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = s / v.length;
  return { mean, std: Math.sqrt(s2 / v.length - mean * mean), min, max };
}

test('a seeded draw with the fused model is one native call that depends on the seed alone', async (t) => {
  if (!available) return t.skip('torch backend not built');
  const n = 200_000;
  const before = draws();
  const [u1, u2, u3, g1] = await withFused(true, () => [
    values(randomUniform([n], -0.25, 0.75, 42)),
    values(randomUniform([n], -0.25, 0.75, 42)),
    values(randomUniform([n], -0.25, 0.75, 43)),
    values(randomNormal([n], 0.5, 2, 42)),
  ]);
  assert.equal(draws() - before, 4, 'one PiatRandom call per draw');
  assert.deepEqual(u2, u1, 'the same seed gives the same numbers');
  assert.notDeepEqual(u3, u1, 'another seed, other numbers');
  const u = moments(u1);
  assert.ok(u.min >= -0.25 && u.max < 0.75, `uniform draw out of [-0.25, 0.75): ${u.min}..${u.max}`);
  // standard errors at n = 200,000: mean 0.00065, std ≈ 0.0005; 6 of them as the tolerance
  assert.ok(Math.abs(u.mean - 0.25) < 0.004, `uniform mean ${u.mean}`);
  assert.ok(Math.abs(u.std - 1 / Math.sqrt(12)) < 0.003, `uniform std ${u.std}`);
  const g = moments(g1);
  assert.ok(Math.abs(g.mean - 0.5) < 0.03 && Math.abs(g.std - 2) < 0.02, `normal mean ${g.mean}, std ${g.std}`);
});

test("without the flag, or without a seed, tfjs's own draw runs, bit for bit", async (t) => {
  if (!available) return t.skip('torch backend not built');
  const before = draws();
  const ours = await withFused(false, () => values(randomUniform([4, 7], -0.1, 0.1, 5)));
  assert.deepEqual(ours, values(tf.randomUniform([4, 7], -0.1, 0.1, 'float32', 5)));
  const normal = await withFused(false, () => values(randomNormal([4, 7], 0, 0.001, 5)));
  assert.deepEqual(normal, values(tf.randomNormal([4, 7], 0, 0.001, 'float32', 5)));
  await withFused(true, () => values(randomUniform([4, 7], -0.1, 0.1)));
  // PIAT_DEVICE_RANDOM=0 keeps tfjs's draws on the fused path; run records name the path either way
  const host = await withEnv({ PIAT_FUSED_MODEL: '1', PIAT_DEVICE_RANDOM: '0' }, async () => ({
    v: values(randomUniform([4, 7], -0.1, 0.1, 5)),
    path: torchPath(),
  }));
  assert.deepEqual(host.v, ours);
  assert.equal(host.path, 'fused, host random starts');
  assert.equal(await withFused(true, () => torchPath()), 'fused');
  assert.equal(await withFused(false, () => torchPath()), 'per-layer');
  assert.equal(draws(), before, 'no device draw without the flag, without a seed or with PIAT_DEVICE_RANDOM=0');
});

test('PGD and the small-noise start take the device draw, repeat under a seed and keep tensor counts', async (t) => {
  if (!available) return t.skip('torch backend not built');
  const model = tf.sequential({
    layers: [tf.layers.dense({ units: 3, inputShape: [6], kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })],
  });
  const x = tf.tensor2d(
    Float32Array.from({ length: 24 }, (_, i) => ((i * 37) % 100) / 100),
    [4, 6],
  );
  const y = tf.tensor1d([0, 1, 2, 0], 'int32');
  const attack = () => values(pgd(model, x, y, { eps: 0.1, alpha: 0.05, steps: 2, seed: 11 }));
  const noise = () => values(smallNoiseStart(x, { rng: new Rng(3), epoch: 0 }));
  const before = draws();
  const a = await withFused(true, attack);
  assert.equal(draws() - before, 1, "PGD's random start is one device draw");
  const start = tf.memory().numTensors;
  const b = await withFused(true, attack);
  const n1 = await withFused(true, noise);
  const n2 = await withFused(true, noise);
  assert.equal(tf.memory().numTensors, start, 'tensors grew');
  assert.equal(draws() - before, 4);
  assert.deepEqual(b, a, 'the same seed gives the same adversarial examples');
  assert.deepEqual(n2, n1, 'the same seed gives the same noise');
  const xs = x.dataSync();
  assert.ok(
    a.every((v, i) => Math.abs(v - xs[i]) <= 0.1 + 1e-6 && v >= 0 && v <= 1),
    'inside the ε-ball and the image range',
  );
  assert.ok(n1.some((v, i) => v !== xs[i]) && n1.every((v, i) => Math.abs(v - xs[i]) < 0.01), 'small noise around x');
  tf.dispose([x, y]);
  model.dispose();
});
