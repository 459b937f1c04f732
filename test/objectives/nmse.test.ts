import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { nmsePerExample } from '../../src/objectives/nmse';
import { crossEntropyPerExample, marginPerExample } from '../../src/attacks/losses';
import { relDiff, setup, values } from '../helpers';

before(setup);

/** NMSE of one example written out by hand in float64 (Eq. 11). */
function nmseHand(z: number[], za: number[], y: number): number {
  const n = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const nz = n(z);
  const na = n(za);
  const dist = z.reduce((s, _, i) => s + (z[i] / nz - za[i] / na) ** 2, 0);
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const p = e[y] / e.reduce((a, b) => a + b, 0);
  return (1 - p) * dist;
}

const Z = [
  [1.0, -0.5, 2.0],
  [0.3, 0.2, -1.1],
];
const ZA = [
  [0.2, 0.9, 1.0],
  [-0.4, 1.5, 0.1],
];
const Y = [2, 0];

test('NMSE value matches a hand computation', () => {
  const got = values(tf.tidy(() => nmsePerExample(tf.tensor2d(Z), tf.tensor2d(ZA), tf.tensor1d(Y, 'int32'))));
  got.forEach((g, i) => assert.ok(relDiff(g, nmseHand(Z[i], ZA[i], Y[i])) < 1e-5, `example ${i}: ${g}`));
  // identical logits give zero
  const zero = values(tf.tidy(() => nmsePerExample(tf.tensor2d(Z), tf.tensor2d(Z), tf.tensor1d(Y, 'int32'))));
  zero.forEach((v) => assert.ok(Math.abs(v) < 1e-6));
});

test('NMSE gradient (w.r.t. clean and adversarial logits, weight not detached) matches central differences', () => {
  const y = tf.tensor1d(Y, 'int32');
  const [gz, gza] = tf.grads((z: tf.Tensor, za: tf.Tensor) => tf.sum(nmsePerExample(z as tf.Tensor2D, za as tf.Tensor2D, y)))([
    tf.tensor2d(Z),
    tf.tensor2d(ZA),
  ]);
  const total = (z: number[][], za: number[][]) => z.reduce((s, _, i) => s + nmseHand(z[i], za[i], Y[i]), 0);
  const h = 1e-6;
  for (const [which, g] of [
    ['z', gz],
    ['za', gza],
  ] as const) {
    const gv = g.arraySync() as number[][];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const zp = Z.map((r) => [...r]),
          zm = Z.map((r) => [...r]),
          ap = ZA.map((r) => [...r]),
          am = ZA.map((r) => [...r]);
        if (which === 'z') {
          zp[i][j] += h;
          zm[i][j] -= h;
        } else {
          ap[i][j] += h;
          am[i][j] -= h;
        }
        const num = (total(zp, ap) - total(zm, am)) / (2 * h);
        assert.ok(Math.abs(gv[i][j] - num) < 1e-4 + 1e-3 * Math.abs(num), `d/d${which}[${i}][${j}]: ${gv[i][j]} vs ${num}`);
      }
    }
  }
  tf.dispose([gz, gza, y]);
});

test('cross entropy and CW margin per example', () => {
  const ce = values(tf.tidy(() => crossEntropyPerExample(tf.tensor2d(Z), tf.tensor1d(Y, 'int32'))));
  Z.forEach((z, i) => {
    const lse = Math.log(z.reduce((s, v) => s + Math.exp(v), 0));
    assert.ok(relDiff(ce[i], lse - z[Y[i]]) < 1e-5);
  });
  const mg = values(tf.tidy(() => marginPerExample(tf.tensor2d(Z), tf.tensor1d(Y, 'int32'))));
  assert.ok(Math.abs(mg[0] - (1.0 - 2.0)) < 1e-6);
  assert.ok(Math.abs(mg[1] - (0.2 - 0.3)) < 1e-6);
});
