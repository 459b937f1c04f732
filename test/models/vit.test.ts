import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { vit, deitSmall, convitBase } from '../../src/models/vit';
import { countTrainable } from '../../src/models/layers';
import { logits } from '../../src/models/forward';
import { saveModel, loadModel } from '../../src/train/model-io';
import { setup, tmpDir } from '../helpers';

before(setup);

/** ViT parameters from the architecture's definition (patch embed, tokens, blocks, head). */
function vitParams(o: {
  dim: number;
  depth: number;
  patch: number;
  channels: number;
  tokens: number;
  classes: number;
  mlp: number;
  gatedLayers?: number;
  heads: number;
}): number {
  const d = o.dim;
  const block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * o.mlp + o.mlp) + (o.mlp * d + d);
  const gpsa = 4 * o.heads; // v_pos (heads × 3) and gating (heads)
  // position embedding: one row per token, plus the class token's unless it joins after GPSA (ConViT)
  const posRows = o.tokens + (o.gatedLayers ? 0 : 1);
  return (
    o.patch * o.patch * o.channels * d +
    d +
    d +
    posRows * d +
    o.depth * block +
    (o.gatedLayers ?? 0) * gpsa +
    2 * d +
    d * o.classes +
    o.classes
  );
}

test('DeiT-S at 224×224, patch 16, 1000 classes has the published 22,050,664 parameters', () => {
  const m = deitSmall({ numClasses: 1000, inputShape: [224, 224, 3], patch: 16, seed: 1 });
  assert.equal(countTrainable(m), 22050664);
  m.dispose();
});

test('ViT family on 32×32: parameter counts from the definition and forward shapes on a batch of 2', () => {
  const small = vit({ numClasses: 10, dim: 64, depth: 2, heads: 4, seed: 1 });
  assert.equal(countTrainable(small), vitParams({ dim: 64, depth: 2, patch: 4, channels: 3, tokens: 64, classes: 10, mlp: 256, heads: 4 }));
  const convit = vit({ numClasses: 10, dim: 64, depth: 3, heads: 4, localLayers: 2, seed: 1 });
  assert.equal(
    countTrainable(convit),
    vitParams({ dim: 64, depth: 3, patch: 4, channels: 3, tokens: 64, classes: 10, mlp: 256, heads: 4, gatedLayers: 2 }),
  );
  for (const m of [small, convit]) {
    const out = tf.tidy(() => logits(m, tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 1)));
    assert.deepEqual(out.shape, [2, 10]);
    out.dispose();
  }
  small.dispose();
  convit.dispose();
  const b = convitBase({ numClasses: 10, seed: 1 });
  assert.ok(countTrainable(b) > 80e6, 'ConViT-B is base-sized');
  b.dispose();
});

test('ViTs train (input and weight gradients) and save/load bit-exactly with their custom layers', async () => {
  const m = vit({ numClasses: 10, dim: 32, depth: 2, heads: 4, localLayers: 1, seed: 2 });
  const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3);
  const y = tf.tensor1d([1, 7], 'int32');
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), logits(m, x, true)) as tf.Scalar, vars);
  assert.equal(Object.keys(grads).length, vars.length);
  Object.values(grads).forEach((g) => assert.ok(Array.from(g.dataSync()).every(Number.isFinite)));
  const dx = tf.grad((a: tf.Tensor) => tf.sum(logits(m, a)))(x);
  assert.ok(Array.from(dx.dataSync()).some((v) => v !== 0));
  const dir = path.join(tmpDir(), 'vit');
  await saveModel(m, dir);
  const back = await loadModel(dir);
  m.getWeights().forEach((t, i) => assert.deepEqual(Array.from(back.getWeights()[i].dataSync()), Array.from(t.dataSync())));
  const [a, b] = tf.tidy(() => [Array.from(logits(m, x).dataSync()), Array.from(logits(back, x).dataSync())]);
  assert.deepEqual(a, b);
  tf.dispose([x, y, dx, ...Object.values(grads)]);
  m.dispose();
  back.dispose();
});
