/** R+FGSM: its random step, its seed and its budget. The registry test checks the ε-ball, [0, 1] and accuracy. */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mlp } from '../../src/models/mlp';
import { rfgsm } from '../../src/attacks/rfgsm';
import { fgsm } from '../../src/attacks/iterative';
import { setup, values } from '../helpers';

before(setup);

test('R+FGSM: the same seed gives the same examples, another seed others; with α = 0 it is FGSM', () => {
  const model = mlp({ inputDim: 4, numClasses: 3, hidden: [8], seed: 1 });
  const x = tf.randomUniform([16, 4], 0.3, 0.7, 'float32', 2);
  const y = tf.tensor1d(
    Array.from({ length: 16 }, (_, i) => i % 3),
    'int32',
  );
  const a = values(rfgsm(model, x, y, { eps: 0.1, seed: 5 }));
  assert.deepEqual(values(rfgsm(model, x, y, { eps: 0.1, seed: 5 })), a);
  assert.notDeepEqual(values(rfgsm(model, x, y, { eps: 0.1, seed: 6 })), a);
  assert.deepEqual(values(rfgsm(model, x, y, { eps: 0.1, alpha: 0, seed: 5 })), values(fgsm(model, x, y, { eps: 0.1 })));
  // away from [0, 1]'s edges every coordinate moves by α ± (ε − α): 0 or ε
  const o = values(x);
  a.forEach((v, i) => assert.ok(Math.abs(Math.abs(v - o[i]) - 0.05) > 0.049, `coordinate ${i} moved ${v - o[i]}`));
  tf.dispose([x, y]);
  model.dispose();
});
