/** The checks `eval` runs on a user's model before evaluating it (src/eval/checks.ts). */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { mlp } from '../../src/models/mlp';
import { loadMnistDigits } from '../../src/data/images';
import { saveModel } from '../../src/train/model-io';
import { checkModel, classCountProblem, looksLikeProbabilities } from '../../src/eval/checks';
import { REPO_ROOT, setup, tmpDir } from '../helpers';

const data = loadMnistDigits('test').take(30);
const plain = () => mlp({ inputDim: 784, inputShape: [28, 28, 1], numClasses: 10, hidden: [16], seed: 4 });

/** A layer that adds fresh noise on every call, training or not: a randomised defence. */
class NoisyLayer extends tf.layers.Layer {
  static className = 'TestNoisyLayer';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.add(x, tf.randomNormal(x.shape, 0, 0.5));
  }
}

/** The plain MLP with `extra` applied to its logits. */
function wrapped(extra: (z: tf.SymbolicTensor) => tf.SymbolicTensor): tf.LayersModel {
  const m = plain();
  return tf.model({ inputs: m.inputs, outputs: extra(m.outputs[0]) });
}

before(setup);

test('checks: a plain model passes; softmax outputs, randomness, zero gradients and too few classes are each named', () => {
  assert.deepEqual(checkModel(plain(), data), []);
  const soft = wrapped((z) => tf.layers.softmax().apply(z) as tf.SymbolicTensor);
  assert.deepEqual(
    checkModel(soft, data).map((w) => w.check),
    ['probabilities'],
  );
  const noisy = wrapped((z) => new NoisyLayer({}).apply(z) as tf.SymbolicTensor);
  assert.deepEqual(
    checkModel(noisy, data).map((w) => w.check),
    ['randomness'],
  );
  const dead = plain();
  // a zero first layer with a negative bias: every ReLU is off, no gradient reaches the input
  dead.getLayer('dense_0').setWeights([tf.zerosLike(dead.getLayer('dense_0').getWeights()[0]), tf.fill([16], -1)]);
  const w = checkModel(dead, data);
  assert.deepEqual(
    w.map((x) => x.check),
    ['zero-gradients'],
  );
  assert.match(w[0].message, /^30 of 30 checked examples have an input gradient of exactly zero/);
  assert.deepEqual(checkModel(plain(), data, { attacks: ['clean', 'aa'], aa: { targets: 9 } }), []);
});

test('checks: the class counts AutoAttack needs', () => {
  assert.equal(classCountProblem(10, ['clean', 'aa']), null);
  assert.match(classCountProblem(2, ['aa']) ?? '', /with 2 classes the DLR loss/);
  assert.match(classCountProblem(3, ['apgd-t']) ?? '', /targeted DLR loss of APGD-T is undefined \(it needs 4\)/);
  assert.match(classCountProblem(5, ['aa']) ?? '', /apgd-t and fab-t attack 9 target classes, but the model has only 4/);
  assert.equal(classCountProblem(5, ['aa'], { targets: 3 }), null);
  assert.equal(classCountProblem(2, ['pgd20', 'cw20']), null, 'PGD and CW work with any class count');
  assert.equal(classCountProblem(2, ['aa'], { version: 'custom', attacks: ['apgd-ce'] }), null);
});

test('checks: probabilities need both the range and the row sums', () => {
  const t = (rows: number[][]) => looksLikeProbabilities(tf.tensor2d(rows));
  assert.equal(
    t([
      [0.2, 0.8],
      [0.5, 0.5],
    ]),
    true,
  );
  assert.equal(
    t([
      [0.2, 0.3],
      [0.5, 0.5],
    ]),
    false,
    'rows that do not sum to 1',
  );
  assert.equal(t([[1.5, -0.5]]), false, 'logits that happen to sum to 1');
});

test('eval warns about a softmax checkpoint on stderr and in --json, and still evaluates', async () => {
  const dir = tmpDir('piat-checks-');
  const soft = wrapped((z) => tf.layers.softmax().apply(z) as tf.SymbolicTensor);
  await saveModel(soft, path.join(dir, 'm'));
  const cli = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');
  const args = [
    cli,
    'eval',
    '--checkpoint',
    path.join(dir, 'm'),
    '--data',
    'mnist',
    '--attacks',
    'clean,pgd5',
    '--n',
    '20',
    '--eps',
    '0.1',
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /piat: warning \(probabilities\): the model outputs a probability distribution/);
  assert.match(r.stdout, /^clean +\d/m);
  const j = spawnSync(process.execPath, [...args, '--json'], { encoding: 'utf8' });
  const out = JSON.parse(j.stdout);
  assert.deepEqual(
    out.warnings.map((w: { check: string }) => w.check),
    ['probabilities'],
  );
  assert.equal(out.alpha, 0.025, 'without --alpha the step is ε/4');
  fs.rmSync(dir, { recursive: true, force: true });
});
