/**
 * The attacks' inner step on the fused path (src/backend/torch/fused-attack.ts, PIAT_FUSED_MODEL=1):
 * the L∞ step kernel gives the composite's bits (zero gradients and clipped pixels included); the
 * one-call input gradient equals the tape-driven one of the fused model and the per-layer path's
 * (float32 tolerance); a PGD step is two native calls; other losses run the composite; tensor
 * counts stay put. PIAT_DEVICE_RANDOM=0 keeps tfjs's random starts, so that both paths start alike.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertNoTensorGrowth, startTorchOrSkip, withEnv } from '../helpers';
import type { TorchBackend } from '../../src/backend/torch/backend';
import { pgd } from '../../src/attacks/pgd';
import { project } from '../../src/attacks/projection';
import { crossEntropyPerExample } from '../../src/attacks/losses';
import { logits } from '../../src/models/forward';
import { resnet18 } from '../../src/models/resnet';
import { ceInputGrad } from '../../src/backend/torch/fused-attack';

let available = false;
before(async () => {
  available = await startTorchOrSkip();
});

const on = <T>(f: () => T) => withEnv({ PIAT_FUSED_MODEL: '1', PIAT_DEVICE_RANDOM: '0' }, async () => f());
const off = <T>(f: () => T) => withEnv({ PIAT_FUSED_MODEL: '0' }, async () => f());
const calls = (name: string) => (tf.backend() as unknown as TorchBackend).calls.get(name) ?? 0;

/** max |a − b| / max |a| */
function relErr(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let s = 0;
  a.forEach((v, i) => {
    d = Math.max(d, Math.abs(v - b[i]));
    s = Math.max(s, Math.abs(v));
  });
  return d / (s || 1);
}

test("the L∞ step kernel gives the composite's bits, in one call", async (t) => {
  if (!available) return t.skip('torch backend not built');
  const n = 4 * 6 * 6 * 3;
  const x = tf.tensor4d(
    Float32Array.from({ length: n }, (_, i) => ((i * 37) % 101) / 100),
    [4, 6, 6, 3],
  );
  // offsets past ε and pixels past [0, 1] before clipping; every fifth gradient exactly zero
  const xAdv = tf.tidy(() =>
    tf.add(
      x,
      tf.tensor4d(
        Float32Array.from({ length: n }, (_, i) => (((i * 53) % 41) - 20) / 400),
        [4, 6, 6, 3],
      ),
    ),
  );
  const g = tf.tensor4d(
    Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : Math.sin(i))),
    [4, 6, 6, 3],
  );
  const [eps, alpha] = [8 / 255, 2 / 255];
  const composite = await off(() =>
    tf.tidy(() => Float32Array.from(project(tf.add(xAdv, tf.mul(tf.sign(g), alpha)), x, eps, 'linf', [0, 1]).dataSync())),
  );
  const before = calls('PiatLinfStep');
  const fused = await on(() =>
    tf.tidy(() =>
      Float32Array.from((tf.engine().runKernel('PiatLinfStep', { xAdv, g, x }, { alpha, eps, lo: 0, hi: 1 }) as tf.Tensor).dataSync()),
    ),
  );
  assert.equal(calls('PiatLinfStep') - before, 1);
  assert.deepEqual(fused, composite);
  tf.dispose([x, xAdv, g]);
});

test("PGD's input gradient is one call and equals the tape-driven gradient of both paths; a step is two native calls", async (t) => {
  if (!available) return t.skip('torch backend not built');
  const m = resnet18({ numClasses: 10, seed: 4, baseWidth: 8, inputShape: [8, 8, 3] });
  const x = tf.randomUniform([6, 8, 8, 3], 0, 1, 'float32', 3);
  const y = tf.tensor1d([0, 1, 2, 3, 4, 5], 'int32');
  const tapeGrad = () =>
    tf.tidy(() =>
      Float32Array.from(
        tf
          .grad((a: tf.Tensor) => tf.sum(crossEntropyPerExample(logits(m, a, false), y)))(x)
          .dataSync(),
      ),
    );
  const perLayer = await off(tapeGrad);
  const fusedTape = await on(tapeGrad);
  // one PGD step with no random start: x + α·sign(∇) projected, from the one-call gradient
  const attack = () => tf.tidy(() => Float32Array.from(pgd(m, x, y, { eps: 0.05, alpha: 0.02, steps: 1, randomStart: false }).dataSync()));
  const reference = await off(attack);
  const c0 = {
    grad: calls('modelInputGrad'),
    step: calls('PiatLinfStep'),
    all: [...(tf.backend() as unknown as TorchBackend).calls.values()].reduce((a, b) => a + b, 0),
  };
  const fused = await on(attack);
  const all = [...(tf.backend() as unknown as TorchBackend).calls.values()].reduce((a, b) => a + b, 0);
  assert.equal(calls('modelInputGrad') - c0.grad, 1, 'one input-gradient call');
  assert.equal(calls('PiatLinfStep') - c0.step, 1, 'one step call');
  t.diagnostic(`native calls for a one-step attack: ${all - c0.all}`);
  assert.equal(all - c0.all, 2, 'the gradient and the step (the start is a shared clone of x)');
  // the one-call gradient itself against the tape's
  const direct = await on(() => tf.tidy(() => Float32Array.from(ceInputGrad(m, x, y)!.dataSync())));
  const errs = [relErr(perLayer, fusedTape), relErr(perLayer, direct), relErr(fusedTape, direct)];
  t.diagnostic(
    `relative differences: fused tape ${errs[0].toExponential(1)}, one call ${errs[1].toExponential(1)} (per-layer reference), one call vs fused tape ${errs[2].toExponential(1)}`,
  );
  assert.ok(
    errs.every((e) => e <= 1e-4),
    `gradients differ by ${errs}`,
  );
  const differ = fused.filter((v, i) => v !== reference[i]).length;
  t.diagnostic(`${differ} of ${fused.length} pixels differ from the per-layer path's attack`);
  assert.ok(differ <= fused.length / 100, `${differ} pixels differ`);
  tf.dispose([x, y]);
  m.dispose();
});

test('the margin loss runs the composite gradient; tensor counts stay put over fused attacks', async (t) => {
  if (!available) return t.skip('torch backend not built');
  const m = resnet18({ numClasses: 10, seed: 5, baseWidth: 4, inputShape: [8, 8, 3] });
  const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 6);
  const y = tf.tensor1d([1, 2, 3, 4], 'int32');
  const before = calls('modelInputGrad');
  await on(() => tf.tidy(() => void pgd(m, x, y, { eps: 0.05, alpha: 0.02, steps: 2, loss: 'margin', seed: 1 }).dataSync()));
  assert.equal(calls('modelInputGrad'), before, 'no one-call CE gradient for another loss');
  await assertNoTensorGrowth(() => on(() => tf.tidy(() => void pgd(m, x, y, { eps: 0.05, alpha: 0.02, steps: 3, seed: 2 }).dataSync())), 3);
  tf.dispose([x, y]);
  m.dispose();
});

test("convolution filters are laid out once per weight update: an attack's steps reuse them, on both paths", async (t) => {
  if (!available) return t.skip('torch backend not built');
  const native = (tf.backend() as unknown as TorchBackend).native;
  const cache = () => native.info().filterCache;
  // 20 convolutions, all narrow (channels-last): each HWIO filter needs one copy to OHWI order
  const m = resnet18({ numClasses: 10, seed: 7, baseWidth: 4, inputShape: [8, 8, 3] });
  const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 8);
  const y = tf.tensor1d([1, 2, 3, 4], 'int32');
  const attack = (fused: boolean) =>
    (fused ? on : off)(() => tf.tidy(() => void pgd(m, x, y, { eps: 0.05, alpha: 0.02, steps: 5, seed: 3 }).dataSync()));
  const c0 = cache();
  await attack(true);
  const c1 = cache();
  t.diagnostic(`first fused attack: ${c1.copies - c0.copies} copies, ${c1.reuses - c0.reuses} reuses`);
  assert.ok(c1.copies - c0.copies <= 20, `${c1.copies - c0.copies} copies for 20 filters`);
  assert.ok(c1.reuses - c0.reuses >= 4 * (c1.copies - c0.copies), 'the later steps reuse the copies');
  await attack(false);
  await attack(true);
  const c2 = cache();
  assert.equal(c2.copies, c1.copies, 'no new copies while the weights stay');
  // a weight written (an update) is laid out again at its next use
  const conv = m.trainableWeights.find((w) => w.shape.length === 4)!;
  conv.write(tf.tidy(() => tf.mul(conv.read(), 1.01)));
  await attack(true);
  assert.equal(cache().copies, c2.copies + 1, 'one new copy for the written filter');
  // the copy of the filter it replaced (and of any freed since) went with that miss
  assert.ok(cache().entries <= c2.entries, `${cache().entries} copies held, ${c2.entries} before`);
  assert.ok(cache().bytes > 0);
  tf.dispose([x, y]);
  m.dispose();
});
