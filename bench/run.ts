/**
 * npm run bench: throughput of the pieces the notebooks lean on, on every backend that loads,
 * as a ratio to the pure-JS cpu backend measured in the same run.
 *   forward       logits of a batch
 *   pgd-step      one input-gradient step (the unit of every attack)
 *   pgd10-train   one PGD-10 adversarial training step (10 input gradients + 1 weight update)
 * Models: the toy MLP (3 → 64 → 2). Conv nets join when they exist (issue 6).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, BACKEND_NAMES } from '../src/backend';
import { mlp } from '../src/models/mlp';
import { logits } from '../src/models/forward';
import { pgd } from '../src/attacks/pgd';
import { crossEntropy } from '../src/attacks/losses';
import { Sgd } from '../src/train/sgd';

interface Row {
  backend: string;
  case: string;
  batch: number;
  imgPerSec: number;
}

function time(fn: () => void, minMs = 1500): number {
  fn(); // warm-up (kernel compilation, allocation)
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    fn();
    n++;
  }
  return (performance.now() - t0) / n / 1000;
}

async function benchBackend(name: string, batch: number): Promise<Row[]> {
  await initBackend({ backend: name });
  const model = mlp({ inputDim: 3, numClasses: 2, hidden: [64], seed: 1 });
  const x = tf.randomUniform([batch, 3], 0, 1, 'float32', 1);
  const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 2), 'int32');
  const attack = { eps: 0.03, alpha: 0.0075, steps: 1, seed: 1 };
  const sgd = new Sgd({ lr: 0.01 });
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const cases: Record<string, () => void> = {
    forward: () => tf.tidy(() => void logits(model, x).dataSync()),
    'pgd-step': () => tf.tidy(() => void pgd(model, x, y, attack).dataSync()),
    'pgd10-train': () =>
      tf.tidy(() => {
        const xa = pgd(model, x, y, { ...attack, steps: 10 });
        const { grads } = tf.variableGrads(() => crossEntropy(logits(model, xa, true), y), vars);
        sgd.step(vars, vars.map((v) => grads[v.name]), 0.01);
        vars[0].dataSync();
      }),
  };
  const rows = Object.entries(cases).map(([c, fn]) => ({ backend: name, case: c, batch, imgPerSec: batch / time(fn) }));
  sgd.dispose();
  model.dispose();
  tf.dispose([x, y]);
  return rows;
}

async function main() {
  const batch = Number(process.env.BENCH_BATCH ?? 128);
  const rows: Row[] = [];
  for (const b of BACKEND_NAMES) {
    try {
      rows.push(...(await benchBackend(b, batch)));
    } catch (e) {
      console.log(`${b}: not available (${(e as Error).message.split('\n')[0]})`);
    }
  }
  const ref = (c: string) => rows.find((r) => r.backend === 'cpu' && r.case === c)?.imgPerSec;
  console.log(`\nmodel: toy MLP 3→64→2 · batch ${batch} · ${new Date().toISOString()}`);
  console.log('backend     case          examples/s   × cpu');
  for (const r of rows) {
    const base = ref(r.case);
    console.log(`${r.backend.padEnd(11)} ${r.case.padEnd(13)} ${r.imgPerSec.toFixed(0).padStart(10)}   ${base ? (r.imgPerSec / base).toFixed(2) : '-'}`);
  }
}

main();
