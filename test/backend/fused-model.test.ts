/**
 * The fused model (src/backend/torch/fused-model.ts, PIAT_FUSED_MODEL=1): every convolutional
 * model of the registry, the MLP and the vision transformers (ViT, ConViT's GPSA), random inputs and weights, eval and training mode, against the
 * per-layer path (the reference) in the same process: logits, the input gradient, every weight
 * gradient and the batch-norm running statistics after a training forward agree to float32
 * tolerance; tensor counts stay put over repeated forward/backward calls; a PGD attack and a
 * training step give the same results both ways.
 *
 * Tolerance: the two paths run the same ATen kernels in other groupings (e.g. batch norm from its
 * batch statistics in one kernel instead of moments + normalise, a dense layer as addmm instead of
 * matmul + bias), so results differ in the last bits and these differences grow through a deep
 * network. Each tensor is compared at its own scale, max |a − b| ≤ TOL · max |a|, TOL = 1e-4 for
 * gradients and 1e-5 for logits, weights and running statistics (a gradient is measured at least
 * at 1e-2 of the largest gradient's scale: one that is zero in exact arithmetic, such as a bias
 * just before training-mode batch norm, is rounding noise on both paths). The measured worst cases
 * are 2e-6 to 4e-6 for gradients and about 1e-6 for logits (printed as test diagnostics).
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { startTorchOrSkip } from '../helpers';
import type { TorchBackend } from '../../src/backend/torch/backend';
import { fusedModelUnsupported } from '../../src/backend/torch/fused-model';
import { logits } from '../../src/models/forward';
import { preActResnet18, resnet18, smallCnn, wideResNet } from '../../src/models/resnet';
import { cnnFc } from '../../src/models/cnn-fc';
import { mlp } from '../../src/models/mlp';
import { vit, withGradientDropping } from '../../src/models/vit';
import { CIFAR10_NORMALISATION, FROZEN_PREFIX } from '../../src/models/layers';
import { pgd } from '../../src/attacks/pgd';
import { ArrayDataset, range } from '../../src/data/dataset';
import { pgdAt } from '../../src/objectives/pgd-at';
import { Sgd } from '../../src/train/sgd';
import { trainStep } from '../../src/train/step';
import { Rng } from '../../src/util/rng';

const TOL_GRAD = 1e-4;
const TOL_VALUE = 1e-5;

let available = false;
const saved = { fused: process.env.PIAT_FUSED_MODEL, draws: process.env.PIAT_DEVICE_RANDOM };
before(async () => {
  available = await startTorchOrSkip();
  // tfjs's random starts on both paths, so that the attack and training-step tests compare the
  // model alone (the device draws are test/backend/device-random.test.ts's)
  process.env.PIAT_DEVICE_RANDOM = '0';
});
after(() => {
  for (const [name, v] of [
    ['PIAT_FUSED_MODEL', saved.fused],
    ['PIAT_DEVICE_RANDOM', saved.draws],
  ] as const) {
    if (v === undefined) delete process.env[name];
    else process.env[name] = v;
  }
});

function setFused(on: boolean): void {
  if (on) process.env.PIAT_FUSED_MODEL = '1';
  else delete process.env.PIAT_FUSED_MODEL;
}

interface Case {
  name: string;
  build: () => tf.LayersModel;
  /** input shape without the batch axis */
  shape: number[];
  classes: number;
}

// the registry's builders; the ResNets and the WideResNet narrower and shallower than published
// (same blocks, shortcuts and layer kinds), so both paths' gradients run in seconds on two cores
const CASES: Case[] = [
  { name: 'small-cnn', build: () => smallCnn({ numClasses: 10, seed: 1 }), shape: [28, 28, 1], classes: 10 },
  { name: 'cnn-fc', build: () => cnnFc({ numClasses: 10, seed: 2, hidden: 32 }), shape: [28, 28, 1], classes: 10 },
  {
    name: 'resnet18 (width 8, CIFAR normalisation inside)',
    build: () => resnet18({ numClasses: 10, seed: 3, baseWidth: 8, inputShape: [16, 16, 3], normalisation: CIFAR10_NORMALISATION }),
    shape: [16, 16, 3],
    classes: 10,
  },
  {
    // shortcuts of 2 and 4 input channels: the 1×1 stride-2 convolutions routed around libtorch 1.13's oneDNN bug
    name: 'resnet18 (width 2)',
    build: () => resnet18({ numClasses: 10, seed: 6, baseWidth: 2, inputShape: [16, 16, 3] }),
    shape: [16, 16, 3],
    classes: 10,
  },
  {
    name: 'preact-resnet18 (width 8)',
    build: () => preActResnet18({ numClasses: 10, seed: 4, baseWidth: 8, inputShape: [16, 16, 3] }),
    shape: [16, 16, 3],
    classes: 10,
  },
  {
    name: 'wrn (depth 10, width 2: the wrn34-10 builder)',
    build: () => wideResNet({ numClasses: 10, seed: 5, depth: 10, width: 2, inputShape: [16, 16, 3] }),
    shape: [16, 16, 3],
    classes: 10,
  },
  {
    name: 'vit (dim 16, 2 blocks, 2 heads, class token, CIFAR normalisation inside)',
    build: () =>
      vit({
        numClasses: 10,
        seed: 8,
        inputShape: [16, 16, 3],
        patch: 4,
        dim: 16,
        depth: 2,
        heads: 2,
        normalisation: CIFAR10_NORMALISATION,
      }),
    shape: [16, 16, 3],
    classes: 10,
  },
  {
    // GPSA in the first block, the class token joining after it (ConViT)
    name: 'convit (dim 16, 2 blocks, 4 heads, 1 GPSA block)',
    build: () => vit({ numClasses: 5, seed: 9, inputShape: [16, 16, 3], patch: 4, dim: 16, depth: 2, heads: 4, localLayers: 1 }),
    shape: [16, 16, 3],
    classes: 5,
  },
  {
    name: 'mlp (batch norm, image input flattened)',
    build: () => mlp({ inputDim: 16, numClasses: 3, hidden: [12, 8], batchNorm: true, seed: 6, inputShape: [4, 4, 1] }),
    shape: [4, 4, 1],
    classes: 3,
  },
  {
    name: 'mlp (tanh)',
    build: () => mlp({ inputDim: 6, numClasses: 4, hidden: [10], activation: 'tanh', seed: 7 }),
    shape: [6],
    classes: 4,
  },
];

/** Random weights (batch-norm scales and variances in [0.5, 1.5], means and offsets small); frozen layers stay. */
function randomise(m: tf.LayersModel, seed: number): void {
  let s = seed;
  m.weights.forEach((w) => {
    if (w.name.startsWith(FROZEN_PREFIX)) return;
    const v = w.read();
    const name = w.originalName ?? w.name;
    const next = /gamma|moving_variance/.test(name)
      ? tf.randomUniform(v.shape, 0.5, 1.5, 'float32', s++)
      : /beta|moving_mean|bias/.test(name)
        ? tf.randomNormal(v.shape, 0, 0.1, 'float32', s++)
        : tf.mul(v, tf.randomUniform(v.shape, 0.5, 1.5, 'float32', s++));
    w.write(next);
    next.dispose();
  });
}

const maxAbs = (t: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]);

/** max |a − b| / max(max |a|, floor) */
function relErr(a: tf.Tensor, b: tf.Tensor, floor = 1e-12): number {
  const d = tf.tidy(() => maxAbs(tf.sub(a, b)));
  return d / Math.max(maxAbs(a), floor);
}

interface Pass {
  logits: tf.Tensor;
  /** the input's gradient, then each trainable weight's */
  grads: tf.Tensor[];
  /** every weight after the pass (running statistics included) */
  weights: tf.Tensor[];
}

/** One forward and backward of sum(logits · r) with respect to x and every trainable weight. */
function pass(m: tf.LayersModel, x: tf.Tensor, r: tf.Tensor, training: boolean): Pass {
  const vars = m.trainableWeights.map((w) => w.read());
  let out: tf.Tensor | null = null;
  const g = tf.engine().gradients(() => {
    const l = logits(m, x, training);
    out = tf.keep(tf.clone(l));
    return tf.sum(tf.mul(l, r));
  }, [x, ...vars]);
  g.value.dispose();
  return { logits: out as unknown as tf.Tensor, grads: g.grads, weights: m.weights.map((w) => tf.clone(w.read())) };
}

for (const c of CASES) {
  for (const training of [false, true]) {
    test(`${c.name}, ${training ? 'training' : 'eval'} mode: logits, input and weight gradients and running statistics equal the per-layer path`, (t) => {
      if (!available) return t.skip('torch backend not built');
      const backend = tf.backend() as unknown as TorchBackend;
      const m = c.build();
      assert.equal(fusedModelUnsupported(m), null, 'the model runs fused');
      randomise(m, 11);
      const start = m.getWeights().map((w) => tf.clone(w));
      const x = tf.randomUniform([8, ...c.shape], 0, 1, 'float32', 12);
      const r = tf.randomNormal([8, c.classes], 0, 1, 'float32', 13);
      setFused(false);
      const ref = pass(m, x, r, training);
      m.setWeights(start);
      setFused(true);
      const calls = backend.calls.get('modelForward') ?? 0;
      const fused = pass(m, x, r, training);
      setFused(false);
      assert.equal(backend.calls.get('modelForward'), calls + 1, 'one native forward call');
      const worst = { logits: relErr(ref.logits, fused.logits), grads: 0, stats: 0 };
      assert.ok(worst.logits <= TOL_VALUE, `logits differ by ${worst.logits}`);
      assert.equal(fused.grads.length, ref.grads.length);
      // a gradient that is zero in exact arithmetic (a bias before training-mode batch norm) is
      // rounding noise on both paths: it is compared at the scale of the largest gradient
      const floor = 1e-2 * Math.max(...ref.grads.map(maxAbs));
      ref.grads.forEach((g, i) => {
        const e = relErr(g, fused.grads[i], floor);
        worst.grads = Math.max(worst.grads, e);
        assert.ok(e <= TOL_GRAD, `gradient ${i === 0 ? 'of the input' : `of ${m.trainableWeights[i - 1].name}`} differs by ${e}`);
      });
      ref.weights.forEach((w, i) => {
        const e = relErr(w, fused.weights[i]);
        worst.stats = Math.max(worst.stats, e);
        assert.ok(e <= TOL_VALUE, `${m.weights[i].name} after the pass differs by ${e}`);
      });
      if (training) {
        // the running statistics did move (the check above compares the moved values)
        const moved = m.weights.filter((w) => /moving_/.test(w.originalName ?? w.name)).length;
        if (moved)
          assert.ok(
            relErr(
              start[m.weights.findIndex((w) => /moving_mean/.test(w.originalName ?? w.name))],
              fused.weights[m.weights.findIndex((w) => /moving_mean/.test(w.originalName ?? w.name))],
            ) > 1e-3,
          );
      }
      t.diagnostic(
        `worst relative differences: logits ${worst.logits.toExponential(2)}, gradients ${worst.grads.toExponential(2)}, weights and statistics ${worst.stats.toExponential(2)}`,
      );
      tf.dispose([ref.logits, fused.logits, ...ref.grads, ...fused.grads, ...ref.weights, ...fused.weights, ...start, x, r]);
      m.dispose();
    });
  }
}

test('tensor counts stay put over repeated fused forward and backward calls (input gradient, weight gradients, both)', async (t) => {
  if (!available) return t.skip('torch backend not built');
  const m = resnet18({ numClasses: 4, seed: 8, baseWidth: 4, inputShape: [8, 8, 3] });
  const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 1);
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  setFused(true);
  const round = () => {
    tf.dispose(tf.grad((xa: tf.Tensor) => tf.sum(logits(m, xa, false)))(x));
    const v = tf.variableGrads(() => tf.sum(logits(m, x, true)) as tf.Scalar, vars);
    tf.dispose([v.value, ...Object.values(v.grads)]);
    const h = tf.variableGrads(() => tf.sum(logits(m, x, true)) as tf.Scalar, vars.slice(-2)); // the head only
    tf.dispose([h.value, ...Object.values(h.grads)]);
    const both = tf.engine().gradients(() => tf.sum(logits(m, x, false)), [x, ...vars]);
    tf.dispose([both.value, ...both.grads]);
    tf.dispose(logits(m, x, false)); // no tape
  };
  round();
  await new Promise((r) => setImmediate(r));
  const before = tf.memory() as tf.MemoryInfo & { nativeTensors: number; nativeBytes: number };
  for (let k = 0; k < 4; k++) round();
  await new Promise((r) => setImmediate(r));
  setFused(false);
  const mem = tf.memory() as tf.MemoryInfo & { nativeTensors: number; nativeBytes: number };
  assert.equal(mem.numTensors, before.numTensors, 'tfjs tensors grew');
  assert.equal(mem.nativeTensors, mem.numDataBuffers, 'ATen tensors held vs tfjs data buffers');
  assert.equal(mem.nativeBytes, mem.numBytes, 'bytes held by the addon vs tfjs numBytes');
  x.dispose();
  m.dispose();
});

test('a PGD attack gives the same adversarial examples both ways', (t) => {
  if (!available) return t.skip('torch backend not built');
  const m = smallCnn({ numClasses: 10, seed: 9, widths: [8, 16, 16] });
  randomise(m, 21);
  const x = tf.randomUniform([16, 28, 28, 1], 0, 1, 'float32', 22);
  const y = tf.tensor1d(
    Array.from({ length: 16 }, (_, i) => i % 10),
    'int32',
  );
  const opts = { eps: 0.1, alpha: 0.02, steps: 5, seed: 23 };
  setFused(false);
  const ref = pgd(m, x, y, opts);
  setFused(true);
  const fused = pgd(m, x, y, opts);
  setFused(false);
  // a step is α·sign(gradient): only a gradient component within rounding of zero could flip
  const differ = tf.tidy(() => tf.sum(tf.cast(tf.greater(tf.abs(tf.sub(ref, fused)), 1e-6), 'float32')).dataSync()[0]);
  t.diagnostic(`${differ} of ${x.size} pixels differ`);
  assert.ok(differ <= x.size * 1e-4, `${differ} of ${x.size} pixels differ`);
  tf.dispose([ref, fused, x, y]);
  m.dispose();
});

test('a PGD-AT training step gives the same loss and weights both ways', (t) => {
  if (!available) return t.skip('torch backend not built');
  const rng0 = new Rng(31);
  const n = 16;
  const data = new ArrayDataset(
    'fused-step',
    Float32Array.from({ length: n * 12 * 12 }, () => rng0.next()),
    Int32Array.from({ length: n }, (_, i) => i % 4),
    [12, 12, 1],
    4,
  );
  const run = (fused: boolean) => {
    setFused(fused);
    const m = smallCnn({ numClasses: 4, seed: 3, widths: [4, 8, 8], inputShape: [12, 12, 1] });
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const sgd = new Sgd({ lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
    const r = trainStep(
      m,
      pgdAt({ attack: { eps: 0.1, alpha: 0.05, steps: 2 } }),
      sgd,
      vars,
      data,
      range(n),
      { rng: new Rng(2), epoch: 0 },
      0.05,
    );
    const weights = m.weights.map((w) => tf.clone(w.read()));
    sgd.dispose();
    m.dispose();
    setFused(false);
    return { r, weights };
  };
  const a = run(false);
  const b = run(true);
  assert.ok(a.r.applied && b.r.applied);
  const loss = Math.abs(a.r.values.total - b.r.values.total) / Math.abs(a.r.values.total);
  assert.ok(loss <= TOL_VALUE, `loss ${a.r.values.total} vs ${b.r.values.total}`);
  let worst = 0;
  a.weights.forEach((w, i) => (worst = Math.max(worst, relErr(w, b.weights[i]))));
  t.diagnostic(`loss ${a.r.values.total} vs ${b.r.values.total}; worst relative weight difference ${worst.toExponential(2)}`);
  assert.ok(worst <= TOL_VALUE, `weights after the step differ by ${worst}`);
  tf.dispose([...a.weights, ...b.weights]);
});

test("a ViT's input gradient under A&P's gradient dropping is the same both ways (the same gates drop)", (t) => {
  if (!available) return t.skip('torch backend not built');
  const m = vit({ numClasses: 4, seed: 10, inputShape: [8, 8, 3], patch: 4, dim: 8, depth: 3, heads: 2 });
  randomise(m, 14);
  const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 15);
  const r = tf.randomNormal([4, 4], 0, 1, 'float32', 16);
  const inputGrad = (fused: boolean, keep: number) => {
    setFused(fused);
    const rng = new Rng(17);
    const g = withGradientDropping(
      keep,
      () => rng.next(),
      () => tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(logits(m, xx, false), r)))(x),
    );
    setFused(false);
    return g;
  };
  const ref = inputGrad(false, 0.5);
  const fused = inputGrad(true, 0.5);
  const err = relErr(ref, fused);
  t.diagnostic(`worst relative difference ${err.toExponential(2)}`);
  assert.ok(err <= TOL_GRAD, `input gradients differ by ${err}`);
  // and the gates matter: keeping every branch gives another gradient
  const all = inputGrad(true, 1);
  assert.ok(relErr(all, fused) > 1e-3, 'dropping changed nothing');
  tf.dispose([ref, fused, all, x, r]);
  m.dispose();
});
