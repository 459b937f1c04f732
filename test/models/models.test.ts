import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { resnet18, preActResnet18, wrn34_10, wideResNet, smallCnn } from '../../src/models/resnet';
import { mlp } from '../../src/models/mlp';
import { countTrainable, CIFAR10_NORMALISATION } from '../../src/models/layers';
import { saveModel, loadModel } from '../../src/train/model-io';
import { logits } from '../../src/models/forward';
import { ARCHS, buildModel, modelEntry } from '../../src/models/registry';
import { setup, tmpDir, values } from '../helpers';

before(setup);

test('parameter counts equal the published ones', () => {
  const cases: [string, () => tf.LayersModel, number][] = [
    ['ResNet-18 (CIFAR)', () => resnet18({ numClasses: 10, seed: 1 }), 11173962],
    ['PreAct ResNet-18 without final BN', () => preActResnet18({ numClasses: 10, seed: 1, finalNorm: false }), 11171146],
    ['PreAct ResNet-18 (He et al.)', () => preActResnet18({ numClasses: 10, seed: 1 }), 11171146 + 2 * 512],
    ['WRN-34-10', () => wrn34_10({ numClasses: 10, seed: 1 }), 46160474],
    ['WRN-28-10', () => wideResNet({ numClasses: 10, seed: 1, depth: 28, width: 10 }), 36479194],
    ['ResNet-18, 100 classes', () => resnet18({ numClasses: 100, seed: 1 }), 11173962 + 90 * 513],
    // TRADES' SmallCNN on 28×28 (convs 288 + 9216 + 18432 + 36864 without bias, their BN scales and
    // shifts 2·(32 + 32 + 64 + 64), FC 1024·200 + 200, 200·200 + 200, 200·10 + 10)
    [
      'cnn-fc',
      () => buildModel('cnn-fc', { numClasses: 10, inputShape: [28, 28, 1], seed: 1 }),
      288 + 9216 + 18432 + 36864 + 2 * 192 + 205000 + 40200 + 2010,
    ],
    // the same with an 800-wide head (the overfitting search's capacity setting): FC 1024·800 + 800, 800·800 + 800, 800·10 + 10
    [
      'cnn-fc, head 800',
      () => buildModel('cnn-fc', { numClasses: 10, inputShape: [28, 28, 1], seed: 1 }, { fcWidth: 800 }),
      288 + 9216 + 18432 + 36864 + 2 * 192 + 820000 + 640800 + 8010,
    ],
  ];
  for (const [name, make, expected] of cases) {
    const m = make();
    assert.equal(countTrainable(m), expected, name);
    m.dispose();
  }
});

test('every registered architecture builds for its data and gives logits of shape [batch, classes]', () => {
  for (const arch of ARCHS) {
    // 16×16: the smallest image cnn-fc's unpadded convolutions and pools accept
    const inputShape = modelEntry(arch).input === 'vector' ? [3] : [16, 16, 1];
    const m = buildModel(arch, { numClasses: 5, inputShape, seed: 1 });
    const out = tf.tidy(() => logits(m, tf.randomUniform([2, ...inputShape], 0, 1, 'float32', 1)));
    assert.deepEqual(out.shape, [2, 5], arch);
    out.dispose();
    m.dispose();
  }
  assert.throws(
    () => buildModel('small-cnn', { numClasses: 2, inputShape: [3], seed: 1 }),
    /small-cnn needs image inputs \[height, width, channels\]; the data's examples have shape \[3\]/,
  );
  assert.throws(
    () => buildModel('cnn-fc', { numClasses: 2, inputShape: [8, 8, 1], seed: 1 }),
    /cnn-fc needs images of at least 16×16 pixels .*got 8×8/,
  );
  assert.throws(
    () => buildModel('resnet50', { numClasses: 2, inputShape: [3], seed: 1 }),
    /Unknown architecture 'resnet50'\. Expected one of: mlp, small-cnn/,
  );
});

test("cnn-fc's head width is part of a run's identity only when it differs from TRADES' 200, so earlier run folders keep theirs", () => {
  const e = modelEntry('cnn-fc');
  assert.deepEqual(e.identity({}), {});
  assert.deepEqual(e.identity({ fcWidth: 200 }), {});
  assert.deepEqual(e.identity({ fcWidth: 800 }), { fcWidth: 800 });
});

test('forward shapes of the CIFAR networks at 32×32 and with input normalisation', () => {
  const models: [tf.LayersModel, number[]][] = [
    [smallCnn({ numClasses: 10, seed: 1 }), [2, 28, 28, 1]],
    [resnet18({ numClasses: 10, seed: 1, normalisation: CIFAR10_NORMALISATION }), [2, 32, 32, 3]],
  ];
  for (const [m, shape] of models) {
    const out = tf.tidy(() => logits(m, tf.randomUniform(shape, 0, 1, 'float32', 1)));
    assert.deepEqual(out.shape, [2, m.outputs[0].shape[1]], m.name);
    out.dispose();
    m.dispose();
  }
});

test('input normalisation inside the model is (x − mean)/std per channel', () => {
  const m = resnet18({ numClasses: 10, seed: 1, normalisation: CIFAR10_NORMALISATION });
  const layer = m.getLayer('frozen_normalise');
  const x = tf.fill([1, 2, 2, 3], 0.5);
  const y = values(layer.apply(x) as tf.Tensor);
  CIFAR10_NORMALISATION.mean.forEach((mu, c) => assert.ok(Math.abs(y[c] - (0.5 - mu) / CIFAR10_NORMALISATION.std[c]) < 1e-5));
  assert.equal(layer.trainable, false);
  m.dispose();
});

test('save then load round-trips every weight bit-exactly, in tfjs format', async () => {
  for (const make of [
    () => smallCnn({ numClasses: 10, seed: 3 }),
    () => resnet18({ numClasses: 10, seed: 3, normalisation: CIFAR10_NORMALISATION }),
    () => mlp({ inputDim: 3, numClasses: 2, hidden: [4], batchNorm: true, seed: 3 }),
  ]) {
    const m = make();
    const dir = path.join(tmpDir(), 'model');
    await saveModel(m, dir);
    const back = await loadModel(dir);
    const a = m.getWeights();
    const b = back.getWeights();
    assert.equal(a.length, b.length);
    a.forEach((t, i) =>
      assert.deepEqual(
        new Uint32Array(t.dataSync().buffer.slice(0)),
        new Uint32Array(b[i].dataSync().buffer.slice(0)),
        `${m.name} weight ${i}`,
      ),
    );
    // and with the stock tfjs loader on the same files
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    assert.equal(json.format, 'layers-model');
    assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
    m.dispose();
    back.dispose();
  }
});
