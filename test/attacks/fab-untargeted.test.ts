/** Untargeted FAB (AutoAttack's version plus): valid adversarial points, restarts, and its place in plus. */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mlp } from '../../src/models/mlp';
import { loadMnistDigits } from '../../src/data/images';
import { ArrayDataset } from '../../src/data/dataset';
import { train } from '../../src/train/trainer';
import { standard } from '../../src/objectives/pgd-at';
import { fabUntargeted } from '../../src/attacks/autoattack/fab';
import { AA_VERSIONS, autoAttack } from '../../src/attacks/autoattack';
import { correctFlags } from '../../src/attacks/contract';
import { setup } from '../helpers';

let model: tf.LayersModel;
let data: ArrayDataset;

before(async () => {
  await setup();
  data = loadMnistDigits('test').take(60);
  model = mlp({ inputDim: 784, inputShape: [28, 28, 1], numClasses: 10, hidden: [32], seed: 3 });
  await train({
    model,
    objective: standard(),
    train: loadMnistDigits('train').take(1000),
    config: { epochs: 3, batchSize: 50, seed: 1, optimizer: { lr: 0.05 } },
    progress: false,
  });
});

test('untargeted FAB: points inside the ε-ball and [0, 1]; a point it calls fooled is misclassified; more budget fools more', () => {
  const { x, y } = data.head();
  const clean = correctFlags(model, x, y);
  const fooledAt = (eps: number, restarts: number) => {
    const r = fabUntargeted(model, x, y, { eps, steps: 20, restarts, seed: 5 });
    const xa = r.adv.dataSync();
    const x0 = x.dataSync();
    let maxDist = 0;
    for (let i = 0; i < x0.length; i++) {
      maxDist = Math.max(maxDist, Math.abs(xa[i] - x0[i]));
      assert.ok(xa[i] >= 0 && xa[i] <= 1, `pixel ${i} = ${xa[i]}`);
    }
    assert.ok(maxDist <= eps + 1e-5, `L∞ ${maxDist} > ε ${eps}`);
    const after = correctFlags(model, r.adv, y);
    r.robust.forEach((rob, i) => {
      if (!clean[i]) assert.equal(rob, false, `example ${i} was misclassified already`);
      if (clean[i] && !rob) assert.equal(after[i], false, `example ${i} called fooled but classified correctly`);
    });
    r.adv.dispose();
    return r.robust.filter((v) => !v).length;
  };
  const small = fooledAt(0.02, 1);
  const large = fooledAt(0.3, 1);
  assert.ok(large > small, `ε 0.3 fooled ${large}, ε 0.02 fooled ${small}`);
  assert.ok(large >= 0.9 * data.size, `an undefended MLP at ε = 0.3 should fall almost entirely: ${large} of ${data.size}`);
  // restarts run on the points still robust and can only add fooled points
  assert.ok(fooledAt(0.05, 3) >= fooledAt(0.05, 1));
  tf.dispose([x, y]);
});

test("AutoAttack plus runs untargeted FAB after APGD-DLR and before Square, as the reference's version plus", () => {
  assert.deepEqual(AA_VERSIONS.plus, ['apgd-ce', 'apgd-dlr', 'fab', 'square', 'apgd-t', 'fab-t']);
  const r = autoAttack(model, data, {
    eps: 0.05,
    version: 'custom',
    attacks: ['fab'],
    fabSteps: 10,
    n: 30,
    batchSize: 30,
    progress: false,
  });
  assert.deepEqual(
    r.log.map((l) => l.stage),
    ['clean', 'fab'],
  );
  assert.ok(r.log[1].robustAccuracy <= r.log[0].robustAccuracy);
});
