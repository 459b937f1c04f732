/**
 * The wasm convolution-gradient kernels against the cpu backend's stock kernels and against
 * numerical gradients, over strides, paddings, kernel sizes and odd/even input sizes.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { Rng } from '../../src/util/rng';

let wasm = false;
before(async () => {
  const b = await initBackend();
  wasm = b.name === 'wasm';
});
after(async () => {
  await tf.setBackend(wasm ? 'wasm' : tf.getBackend());
});

function rand(shape: number[], rng: Rng): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.next() * 2 - 1),
    shape,
  );
}

/** dx and dW of sum(conv(x, w) * g) on the given backend, as plain arrays. */
async function grads(
  backend: string,
  x: number[],
  xs: number[],
  w: number[],
  ws: number[],
  g: number[],
  stride: number,
  pad: 'same' | 'valid' | number,
) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const X = tf.tensor(x, xs as [number, number, number, number]) as tf.Tensor4D;
    const W = tf.tensor(w, ws as [number, number, number, number]) as tf.Tensor4D;
    const padArg =
      typeof pad === 'number'
        ? ([
            [0, 0],
            [pad, pad],
            [pad, pad],
            [0, 0],
          ] as [[number, number], [number, number], [number, number], [number, number]])
        : pad;
    const f = (a: tf.Tensor, b: tf.Tensor) => {
      const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, padArg);
      return tf.sum(tf.mul(y, tf.tensor(g, y.shape)));
    };
    const [dx, dw] = tf.grads(f)([X, W]);
    return { dx: Array.from(dx.dataSync()), dw: Array.from(dw.dataSync()), yShape: tf.conv2d(X, W, stride, padArg).shape };
  });
}

const CASES: { x: number[]; k: number; cin: number; cout: number; stride: number; pad: 'same' | 'valid' | number }[] = [
  { x: [2, 8, 8], k: 3, cin: 3, cout: 4, stride: 1, pad: 'same' },
  { x: [2, 8, 8], k: 3, cin: 3, cout: 4, stride: 2, pad: 1 },
  { x: [2, 9, 7], k: 3, cin: 2, cout: 3, stride: 2, pad: 'same' },
  { x: [1, 7, 7], k: 3, cin: 2, cout: 2, stride: 2, pad: 'valid' },
  { x: [3, 6, 6], k: 1, cin: 4, cout: 5, stride: 2, pad: 'same' },
  { x: [2, 8, 8], k: 4, cin: 3, cout: 6, stride: 4, pad: 'valid' },
  { x: [2, 10, 10], k: 5, cin: 2, cout: 3, stride: 1, pad: 'valid' },
  { x: [2, 6, 6], k: 3, cin: 2, cout: 2, stride: 3, pad: 'valid' },
];

for (const c of CASES) {
  test(`conv gradients on wasm = cpu = numerical (x ${c.x}, k ${c.k}, stride ${c.stride}, pad ${c.pad})`, async (t) => {
    if (!wasm) return t.skip('wasm backend not in use');
    const rng = new Rng(c.k * 100 + c.stride);
    const xs = [...c.x, c.cin];
    const ws = [c.k, c.k, c.cin, c.cout];
    const x = Array.from(rand(xs, rng).dataSync());
    const w = Array.from(rand(ws, rng).dataSync());
    await tf.setBackend('cpu');
    const yShape = tf.tidy(
      () =>
        tf.conv2d(
          tf.tensor(x, xs as [number, number, number, number]) as tf.Tensor4D,
          tf.tensor(w, ws as [number, number, number, number]) as tf.Tensor4D,
          c.stride,
          typeof c.pad === 'number'
            ? [
                [0, 0],
                [c.pad, c.pad],
                [c.pad, c.pad],
                [0, 0],
              ]
            : c.pad,
        ).shape,
    );
    const g = Array.from({ length: yShape.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1);
    const cpu = await grads('cpu', x, xs, w, ws, g, c.stride, c.pad);
    const wa = await grads('wasm', x, xs, w, ws, g, c.stride, c.pad);
    const close = (a: number[], b: number[], what: string) => {
      const scale = Math.max(...b.map(Math.abs));
      a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-4 * scale + 1e-6, `${what}[${i}]: wasm ${v} vs cpu ${b[i]}`));
    };
    close(wa.dx, cpu.dx, 'dx');
    close(wa.dw, cpu.dw, 'dW');
    // numerical check of a few entries of each, in float64 on the loss Σ conv(x,w)·g (linear in each argument)
    const loss = (xv: number[], wv: number[]) => {
      let s = 0;
      const [n, h, wd] = c.x;
      const [oh, ow] = [yShape[1], yShape[2]];
      const sameH = Math.max((oh - 1) * c.stride + c.k - h, 0);
      const sameW = Math.max((ow - 1) * c.stride + c.k - wd, 0);
      const pt = c.pad === 'same' ? Math.floor(sameH / 2) : c.pad === 'valid' ? 0 : c.pad;
      const pl = c.pad === 'same' ? Math.floor(sameW / 2) : c.pad === 'valid' ? 0 : c.pad;
      for (let b = 0; b < n; b++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++)
            for (let co = 0; co < c.cout; co++) {
              let acc = 0;
              for (let ki = 0; ki < c.k; ki++)
                for (let kj = 0; kj < c.k; kj++) {
                  const r = i * c.stride + ki - pt,
                    q = j * c.stride + kj - pl;
                  if (r < 0 || r >= h || q < 0 || q >= wd) continue;
                  for (let ci = 0; ci < c.cin; ci++)
                    acc += xv[((b * h + r) * wd + q) * c.cin + ci] * wv[((ki * c.k + kj) * c.cin + ci) * c.cout + co];
                }
              s += acc * g[((b * oh + i) * ow + j) * c.cout + co];
            }
      return s;
    };
    const eps = 1e-3;
    for (const idx of [0, Math.floor(x.length / 2), x.length - 1]) {
      const xp = [...x],
        xm = [...x];
      xp[idx] += eps;
      xm[idx] -= eps;
      const num = (loss(xp, w) - loss(xm, w)) / (2 * eps);
      assert.ok(Math.abs(num - wa.dx[idx]) <= 1e-3 * Math.max(1, Math.abs(num)), `numerical dx[${idx}] ${num} vs ${wa.dx[idx]}`);
    }
    for (const idx of [0, Math.floor(w.length / 2), w.length - 1]) {
      const wp = [...w],
        wm = [...w];
      wp[idx] += eps;
      wm[idx] -= eps;
      const num = (loss(x, wp) - loss(x, wm)) / (2 * eps);
      assert.ok(Math.abs(num - wa.dw[idx]) <= 1e-3 * Math.max(1, Math.abs(num)), `numerical dW[${idx}] ${num} vs ${wa.dw[idx]}`);
    }
    await tf.setBackend('wasm');
  });
}

test('the wasm conv gradient kernels leave no tensors or wasm buffers behind', async (t) => {
  if (!wasm) return t.skip('wasm backend not in use');
  await tf.setBackend('wasm');
  const x = tf.randomUniform([2, 8, 8, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomUniform([3, 3, 3, 4], -1, 1, 'float32', 2) as tf.Tensor4D;
  const step = () =>
    tf.tidy(() =>
      tf
        .grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')))([x, w])
        .forEach((g) => g.dataSync()),
    );
  step();
  const before = tf.memory();
  for (let i = 0; i < 5; i++) step();
  const after_ = tf.memory();
  assert.equal(after_.numTensors, before.numTensors);
  assert.equal(after_.numDataBuffers, before.numDataBuffers);
  assert.equal(after_.numBytes, before.numBytes);
  tf.dispose([x, w]);
});

test('ResNet-18 PGD-AT trains on the default backend: the loss falls over a few steps on real digits', async () => {
  const { resnet18 } = await import('../../src/models/resnet');
  const { loadMnistDigits } = await import('../../src/data/images');
  const { pgdAt } = await import('../../src/objectives/pgd-at');
  const { Sgd } = await import('../../src/train/sgd');
  const { trainStep } = await import('../../src/train/step');
  const { range } = await import('../../src/data/dataset');
  await tf.setBackend(wasm ? 'wasm' : tf.getBackend());
  const model = resnet18({ numClasses: 10, inputShape: [28, 28, 1], seed: 1 });
  const data = loadMnistDigits('train').take(8);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const sgd = new Sgd({ lr: 0.05, momentum: 0.9 });
  const objective = pgdAt({ attack: { eps: 0.1, alpha: 0.05, steps: 2 } });
  const losses: number[] = [];
  for (let s = 0; s < 5; s++)
    losses.push(trainStep(model, objective, sgd, vars, data, range(8), { rng: new Rng(s), epoch: 0 }, 0.05).values.total);
  assert.ok(losses[4] < losses[0], `loss ${losses.map((l) => l.toFixed(3)).join(' → ')}`);
  sgd.dispose();
  model.dispose();
});

test('tape-friendly conv and batch norm equal the fused ops, in value and gradient', async () => {
  await tf.setBackend(wasm ? 'wasm' : tf.getBackend());
  const rng = new Rng(9);
  const x = rand([2, 6, 6, 3], rng) as tf.Tensor4D;
  const w = rand([3, 3, 3, 4], rng) as tf.Tensor4D;
  const bias = rand([4], rng) as tf.Tensor1D;
  const [mean, variance, scale, offset] = [
    rand([4], rng),
    tf.add(tf.abs(rand([4], rng)), 0.5),
    rand([4], rng),
    rand([4], rng),
  ] as tf.Tensor1D[];
  const f = (a: tf.Tensor) =>
    tf.batchNorm4d(
      tf.fused.conv2d({ x: a as tf.Tensor4D, filter: w, strides: 2, pad: 'same', bias, activation: 'relu' }),
      mean,
      variance,
      offset,
      scale,
      1e-5,
    );
  // outside a tape the fused kernels run; inside tf.grad the tape-friendly forms do
  const plain = Array.from(tf.tidy(() => f(x)).dataSync());
  let taped: number[] = [];
  const g = tf.grad((a: tf.Tensor) => {
    const y = f(a);
    taped = Array.from(y.dataSync());
    return tf.sum(tf.mul(y, tf.range(0, y.size).reshape(y.shape)));
  })(x);
  plain.forEach((v, i) => assert.ok(Math.abs(v - taped[i]) < 1e-4 * Math.max(1, Math.abs(v)), `value ${i}: ${v} vs ${taped[i]}`));
  // reference gradient from the unpatched composition, written out with plain ops
  const ref = tf.grad((a: tf.Tensor) => {
    const c = tf.relu(tf.add(tf.conv2d(a as tf.Tensor4D, w, 2, 'same'), bias));
    const y = tf.add(tf.mul(tf.sub(c, mean), tf.mul(tf.rsqrt(tf.add(variance, 1e-5)), scale)), offset);
    return tf.sum(tf.mul(y, tf.range(0, y.size).reshape(y.shape)));
  })(x);
  const gv = Array.from(g.dataSync()),
    rv = Array.from(ref.dataSync());
  gv.forEach((v, i) => assert.ok(Math.abs(v - rv[i]) < 1e-3 * Math.max(1, Math.abs(rv[i])), `grad ${i}: ${v} vs ${rv[i]}`));
  tf.dispose([x, w, bias, mean, variance, scale, offset, g, ref]);
});
