import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mlp } from '../../src/models/mlp';
import { trades } from '../../src/objectives/trades';
import { mart } from '../../src/objectives/mart';
import { mail, mailWeights } from '../../src/objectives/mail';
import { alp } from '../../src/objectives/alp';
import { nmse } from '../../src/objectives/nmse';
import { pgdAt, standard } from '../../src/objectives/pgd-at';
import { Objective } from '../../src/objectives/types';
import { twoCircles } from '../../src/data/toy';
import { train } from '../../src/train/trainer';
import { Rng } from '../../src/util/rng';
import { relDiff, setup } from '../helpers';
import { ce, identityModel, kl, mean, softmax, Y, Z, ZA } from '../hand-math';

before(setup);

const maxWrong = (z: number[], y: number) => Math.max(...softmax(z).filter((_, k) => k !== y));

function lossOf(o: Objective, epoch = 0): Record<string, number> {
  const model = identityModel();
  const out = tf.tidy(() => {
    const r = o.loss(model, tf.tensor2d(Z), tf.tensor2d(ZA), tf.tensor1d(Y, 'int32'), { rng: new Rng(1), epoch });
    return { total: r.loss.dataSync()[0], ...Object.fromEntries(Object.entries(r.parts).map(([k, v]) => [k, v.dataSync()[0]])) };
  });
  model.dispose();
  return out;
}

test('TRADES: CE(f(x)) + β·mean KL(f(x) ‖ f(x′))', () => {
  const got = lossOf(trades({ beta: 6 }));
  const want = mean(Z.map((z, i) => ce(z, Y[i]))) + 6 * mean(Z.map((z, i) => kl(z, ZA[i])));
  assert.ok(relDiff(got.total, want) < 1e-5, `${got.total} vs ${want}`);
  assert.ok(relDiff(got.kl, mean(Z.map((z, i) => kl(z, ZA[i])))) < 1e-5);
});

test('MART: mean BCE + λ·mean KL·(1 − p_y(x)), as the authors compute it', () => {
  const got = lossOf(mart({ lambda: 6 }));
  const bce = Z.map((_, i) => ce(ZA[i], Y[i]) - Math.log(1.0001 - maxWrong(ZA[i], Y[i]) + 1e-12));
  const klw = Z.map((z, i) => kl(z, ZA[i]) * (1.0000001 - softmax(z)[Y[i]]));
  const want = mean(bce) + 6 * mean(klw);
  assert.ok(relDiff(got.total, want) < 1e-4, `${got.total} vs ${want}`);
});

test('MAIL: weights 3·sigmoid(slope·(PM + bias)), PM = p_2nd − p_y on x′; burn-in uses weight 1', () => {
  const w = Array.from(tf.tidy(() => mailWeights(tf.tensor2d(ZA), tf.tensor1d(Y, 'int32'), -1.5, 1)).dataSync());
  const want = ZA.map((z, i) => 3 / (1 + Math.exp(-(maxWrong(z, Y[i]) - softmax(z)[Y[i]] - 1.5))));
  w.forEach((v, i) => assert.ok(relDiff(v, want[i]) < 1e-5, `${v} vs ${want[i]}`));
  const at = lossOf(mail({ base: 'pgd-at' }), 5);
  assert.ok(relDiff(at.total, mean(ZA.map((z, i) => want[i] * ce(z, Y[i])))) < 1e-5);
  const burn = lossOf(mail({ base: 'pgd-at', burnInEpochs: 10 }), 5);
  assert.ok(relDiff(burn.total, mean(ZA.map((z, i) => ce(z, Y[i])))) < 1e-5);
  const tr = lossOf(mail({ base: 'trades', beta: 5 }), 5);
  assert.ok(relDiff(tr.total, mean(Z.map((z, i) => ce(z, Y[i]))) + 5 * mean(Z.map((z, i) => want[i] * kl(z, ZA[i])))) < 1e-5);
  assert.throws(() => mail({ base: 'free' as never }), /Unknown MAIL base 'free'/);
});

test('ALP and PGD-AT against hand computations', () => {
  const a = lossOf(alp({ lambda: 0.5 }));
  const pair = mean(Z.map((z, i) => z.reduce((s, v, k) => s + (v - ZA[i][k]) ** 2, 0)));
  assert.ok(relDiff(a.total, mean(ZA.map((z, i) => ce(z, Y[i]))) + 0.5 * pair) < 1e-5);
  const p = lossOf(pgdAt());
  assert.ok(relDiff(p.total, mean(ZA.map((z, i) => ce(z, Y[i])))) < 1e-5);
  const n = lossOf(nmse({ ce: 'clean' }));
  assert.ok('ce_clean' in n && 'nmse' in n);
});

test('a few epochs of TRADES, MART and MAIL lower their loss on the toy data', async () => {
  const data = twoCircles({ perClass: 60, seed: 7 });
  const attack = { eps: 0.03, alpha: 0.0075, steps: 3 };
  for (const objective of [trades({ attack }), mart({ attack }), mail({ base: 'mart', attack })]) {
    const model = mlp({ inputDim: 3, numClasses: 2, hidden: [16], seed: 2 });
    const r = await train({
      model,
      objective,
      train: data,
      config: { epochs: 6, batchSize: 40, seed: 5, optimizer: { lr: 0.1 } },
      progress: false,
    });
    assert.ok(
      r.records[5].loss.total < r.records[0].loss.total,
      `${objective.name}: ${r.records[0].loss.total} -> ${r.records[5].loss.total}`,
    );
    model.dispose();
  }
});

test('micro-batches: accumulated gradients equal the full batch without batch norm', async () => {
  const data = twoCircles({ perClass: 40, seed: 3 });
  const run = async (micro?: number) => {
    const model = mlp({ inputDim: 3, numClasses: 2, hidden: [8], seed: 4 });
    await train({
      model,
      objective: standard(),
      train: data,
      config: { epochs: 2, batchSize: 40, seed: 1, optimizer: { lr: 0.1 }, microBatchSize: micro },
      progress: false,
    });
    const w = model.getWeights().map((t) => Array.from(t.dataSync()));
    model.dispose();
    return w;
  };
  const full = await run();
  const micro = await run(10);
  full.forEach((ws, i) => ws.forEach((v, j) => assert.ok(Math.abs(v - micro[i][j]) < 1e-4, `weight ${i}[${j}]: ${v} vs ${micro[i][j]}`)));
});
