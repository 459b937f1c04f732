/**
 * The fused cross entropy (src/backend/torch/fused-loss.ts, with PIAT_FUSED_MODEL=1) against tfjs's
 * composite (the reference, the same process): per-example values and the logits gradient agree to
 * float32 tolerance, with logits large enough that a naive softmax would
 * overflow; each is one native call; tensor counts stay put. And the point of it: a PGD-10 training
 * step of ResNet-18 with the fused model and loss makes at most 50 native calls (the per-layer
 * path makes thousands), the same count whatever the network's width. And, like the per-layer path, it
 * is deterministic on the CPU: the same seed gives bit-identical losses and weights.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertNoTensorGrowth, startTorchOrSkip, withEnv } from '../helpers';
import type { TorchBackend } from '../../src/backend/torch/backend';
import { crossEntropy, crossEntropyPerExample } from '../../src/attacks/losses';
import { resnet18 } from '../../src/models/resnet';
import { ArrayDataset, range } from '../../src/data/dataset';
import { pgdAt } from '../../src/objectives/pgd-at';
import { PAPER_TRAIN_ATTACK } from '../../src/objectives/adversarial';
import { Sgd } from '../../src/train/sgd';
import { trainStepLazy } from '../../src/train/step';
import { Rng } from '../../src/util/rng';

let available = false;
before(async () => {
  available = await startTorchOrSkip();
});

/** `f` with PIAT_FUSED_MODEL on or off (the shared withEnv, which restores it after) */
const withFused = <T>(on: boolean, f: () => T): Promise<T> => withEnv({ PIAT_FUSED_MODEL: on ? '1' : '0' }, async () => f());

const backend = () => tf.backend() as unknown as TorchBackend;
const calls = (name: string) => backend().calls.get(name) ?? 0;

/** max |a − b| / max |a| */
function relErr(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(a[i]));
  }
  return d / (s || 1);
}

function valueAndGrad(z: tf.Tensor2D, y: tf.Tensor1D, weights: tf.Tensor1D) {
  return tf.tidy(() => {
    const loss = crossEntropyPerExample(z, y);
    // a weighted sum, so that the gradient's dy is not all ones
    const g = tf.grad((zz: tf.Tensor) => tf.sum(tf.mul(crossEntropyPerExample(zz as tf.Tensor2D, y), weights)))(z);
    return { loss: Float32Array.from(loss.dataSync()), grad: Float32Array.from(g.dataSync()) };
  });
}

test("per-example values and the logits gradient equal tfjs's composite, each in one native call", async (t) => {
  if (!available) return t.skip('torch backend not built');
  const rng = new Rng(5);
  const n = 64;
  const k = 10;
  // logits up to ±400: exp overflows float32 unless the maximum is taken out first
  const z = tf.tensor2d(
    Float32Array.from({ length: n * k }, (_, i) => (rng.next() - 0.5) * (i < k ? 800 : 8)),
    [n, k],
  );
  const y = tf.tensor1d(
    Array.from({ length: n }, (_, i) => (i * 7) % k),
    'int32',
  );
  const w = tf.tensor1d(Float32Array.from({ length: n }, () => rng.next() * 2 - 0.5));
  const reference = await withFused(false, () => valueAndGrad(z, y, w));
  const f0 = calls('PiatCrossEntropy');
  const g0 = calls('PiatCrossEntropyGrad');
  const fused = await withFused(true, () => valueAndGrad(z, y, w));
  assert.equal(calls('PiatCrossEntropy') - f0, 2, 'one call for the value, one inside the gradient');
  assert.equal(calls('PiatCrossEntropyGrad') - g0, 1, 'one call for the gradient');
  assert.ok(fused.loss.every(Number.isFinite) && fused.grad.every(Number.isFinite), 'finite at large logits');
  const errLoss = relErr(reference.loss, fused.loss);
  const errGrad = relErr(reference.grad, fused.grad);
  t.diagnostic(`relative error: values ${errLoss.toExponential(1)}, gradient ${errGrad.toExponential(1)}`);
  assert.ok(errLoss <= 1e-6, `values differ by ${errLoss}`);
  assert.ok(errGrad <= 1e-6, `gradients differ by ${errGrad}`);
  const mean = await withFused(true, () => tf.tidy(() => crossEntropy(z, y).dataSync()[0]));
  const sum = reference.loss.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(mean - sum / n) <= 1e-5 * Math.abs(sum / n), 'the mean cross entropy takes the fused path too');
  tf.dispose([z, y, w]);
});

test('without the flag the composite runs; with it, tensor counts stay put over repeated gradients', async (t) => {
  if (!available) return t.skip('torch backend not built');
  const z = tf.randomNormal([8, 5]) as tf.Tensor2D;
  const y = tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32');
  const f0 = calls('PiatCrossEntropy');
  await withFused(false, () => tf.tidy(() => tf.grad((zz: tf.Tensor) => tf.sum(crossEntropyPerExample(zz as tf.Tensor2D, y)))(z)));
  assert.equal(calls('PiatCrossEntropy'), f0, 'no fused call without PIAT_FUSED_MODEL=1');
  const grad = () =>
    withFused(true, () =>
      tf.tidy(
        () =>
          void tf
            .grad((zz: tf.Tensor) => tf.sum(crossEntropyPerExample(zz as tf.Tensor2D, y)))(z)
            .dataSync(),
      ),
    );
  await assertNoTensorGrowth(grad, 5);
  tf.dispose([z, y]);
});

test('a ResNet-18 PGD-10 training step with the fused model, loss and attack step makes at most 50 native calls', async (t) => {
  if (!available) return t.skip('torch backend not built');
  // width 8 at 16×16: the same layers, so the same calls, as the published width at 32×32
  const m = resnet18({ numClasses: 10, seed: 1, baseWidth: 8, inputShape: [16, 16, 3] });
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  const sgd = new Sgd({ lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
  const n = 4;
  const data = new ArrayDataset(
    'fused-loss-calls',
    Float32Array.from({ length: n * 16 * 16 * 3 }, (_, i) => (i % 251) / 251),
    Int32Array.from({ length: n }, (_, i) => i % 10),
    [16, 16, 3],
    10,
  );
  const ctx = { rng: new Rng(1), epoch: 0 };
  const objective = pgdAt({ attack: PAPER_TRAIN_ATTACK });
  const step = () => trainStepLazy(m, objective, sgd, vars, data, range(n), ctx, 0.01).dispose();
  const count = (fused: boolean) =>
    withFused(fused, () => {
      step(); // the first step builds the plan and the velocities
      const before = [...backend().calls.values()].reduce((a, b) => a + b, 0);
      step();
      return [...backend().calls.values()].reduce((a, b) => a + b, 0) - before;
    });
  const perLayer = await count(false);
  const fused = await count(true);
  t.diagnostic(`native calls per PGD-10 step: per-layer ${perLayer}, fused ${fused}`);
  assert.ok(fused <= 50, `${fused} native calls`);
  assert.ok(perLayer > 5 * fused, `the per-layer path made ${perLayer}`);
  sgd.dispose();
  m.dispose();
});

test('with the fused model and loss, the same seed gives bit-identical losses and weights', async (t) => {
  if (!available) return t.skip('torch backend not built');
  const run = () =>
    withFused(true, () => {
      const m = resnet18({ numClasses: 10, seed: 3, baseWidth: 4, inputShape: [8, 8, 3] });
      const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
      const sgd = new Sgd({ lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
      const rng = new Rng(9);
      const n = 8;
      const data = new ArrayDataset(
        'fused-loss-repeat',
        Float32Array.from({ length: n * 8 * 8 * 3 }, () => rng.next()),
        Int32Array.from({ length: n }, (_, i) => i % 10),
        [8, 8, 3],
        10,
      );
      const ctx = { rng: new Rng(2), epoch: 0 };
      const objective = pgdAt({ attack: { eps: 0.1, alpha: 0.05, steps: 3 } });
      const losses: number[] = [];
      for (let k = 0; k < 3; k++) {
        const step = trainStepLazy(m, objective, sgd, vars, data, range(n), ctx, 0.05);
        losses.push(step.values((s) => s.dataSync()[0]).total);
        step.dispose();
      }
      const weights = m.getWeights().map((w) => Array.from(w.dataSync()));
      sgd.dispose();
      m.dispose();
      return { losses, weights };
    });
  const a = await run();
  const b = await run();
  assert.deepEqual(b.losses, a.losses);
  assert.deepEqual(b.weights, a.weights);
});
