/**
 * npm run bench: adversarial-training throughput on every tfjs backend that loads, beside the
 * hardware's measured peak and (when Debian's python3-torch is installed) PyTorch on the same CPU.
 *
 *   forward       logits of a batch (inference mode)
 *   input-grad    one input gradient: the unit of every attack step (≈ one PGD step)
 *   weight-grad   one training step's forward + backward + SGD update
 *   pgd10-train   one PGD-10 adversarial training step: measured where BENCH_FULL_STEP allows,
 *                 else 10 × input-grad + weight-grad (marked "est.")
 *
 * The training cases run the trainer's step (trainStepLazy: the loss is not read; torch waits for
 * the device at the end, as PyTorch's side does). On torch a third table times the lean step's parts
 * against the old path, alternating: the SGD update of all weights (one native call vs ~4 tfjs ops
 * per weight) and the weight step (lean vs per-parameter SGD with the loss read after every step).
 *
 * Threads: the torch backend and PyTorch each run at 1 thread and at every core, or only at
 * PIAT_THREADS when it is set, or at each of BENCH_THREADS (e.g. 1,2); the last column compares
 * with PyTorch at the same thread count.
 * wasm and cpu run one thread. For torch rows a second table splits the time into native kernel
 * calls and everything else (tfjs's engine, the tape, JavaScript glue): where the time goes.
 *
 * Env: BENCH_BATCH (128), BENCH_MODELS (small-cnn,resnet18,wrn34-10,resnet18-host: ResNet-18's layers at
 * width 1 on 8×8 images, where the time is host overhead), BENCH_BACKENDS (all that
 * load; the pure-JS cpu backend runs only the small CNN unless BENCH_CPU_ALL=1),
 * BENCH_FULL_STEP (models whose full PGD-10 step is timed directly; default small-cnn,resnet18,resnet18-host),
 * BENCH_FUSED (1): on torch, time each model a second time as one native call (the fused model,
 * PIAT_FUSED_MODEL=1; rows "torch fused"), 0 to skip,
 * BENCH_MICRO (micro-batch of the gradient cases for ResNet-18 / WRN on wasm, default 32 / 8:
 * wasm's heap is 4 GiB; other backends take the whole batch; the step is the trainer's own,
 * src/train/step.ts), BENCH_ROUNDS (1): how many times each model is timed on the torch backend
 * and then on PyTorch, back to back, keeping each side's best.
 *
 * A shared machine's speed drifts by 20 % or more over minutes (measured here: the same PyTorch
 * forward pass of WRN-34-10 took 2.8 s and 3.9 s ten minutes apart), so PyTorch runs right after the
 * first backend's timing of the same model and thread count, not at the end, and rounds alternate.
 */
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, BACKEND_NAMES, BackendName } from '../src/backend';
import { resnet18, smallCnn, wrn34_10 } from '../src/models/resnet';
import { logits } from '../src/models/forward';
import { crossEntropyPerExample } from '../src/attacks/losses';
import { Sgd } from '../src/train/sgd';
import { trainStep, trainStepLazy } from '../src/train/step';
import { ArrayDataset, range } from '../src/data/dataset';
import { Rng } from '../src/util/rng';
import { pgdAt, standard } from '../src/objectives/pgd-at';
import { PAPER_TRAIN_ATTACK } from '../src/objectives/adversarial';
import { forwardFlops } from '../src/models/flops';
import { TorchBackend } from '../src/backend/torch/backend';

const MODELS: Record<string, { make: () => tf.LayersModel; shape: number[] }> = {
  'small-cnn': { make: () => smallCnn({ numClasses: 10, seed: 1 }), shape: [28, 28, 1] },
  resnet18: { make: () => resnet18({ numClasses: 10, seed: 1 }), shape: [32, 32, 3] },
  'wrn34-10': { make: () => wrn34_10({ numClasses: 10, seed: 1 }), shape: [32, 32, 3] },
  // every layer of ResNet-18 at width 1 on 8×8 images: negligible compute, so the time is host overhead
  'resnet18-host': { make: () => resnet18({ numClasses: 10, seed: 1, baseWidth: 1, inputShape: [8, 8, 3] }), shape: [8, 8, 3] },
};
const CASES = ['forward', 'input-grad', 'weight-grad', 'pgd10-train'] as const;
type Case = (typeof CASES)[number];
/** FLOPs of each case in forward-pass units: backward ≈ 2 forward (dx + dW), input-only ≈ 1 */
const FORWARD_UNITS: Record<Case, number> = { forward: 1, 'input-grad': 2, 'weight-grad': 3, 'pgd10-train': 23 };

/** torch only: the lean step against the old path, best of alternating runs (milliseconds) */
interface LeanRow {
  threads: number;
  model: string;
  sgdPerParameter: number;
  sgdOneCall: number;
  stepOld: number;
  stepLean: number;
}
const leanRows: LeanRow[] = [];

/** Best time (ms) of each of `fns`, run in turn `n` times: a drifting machine slows each alike. */
function bestAlternating(fns: (() => void)[], n: number): number[] {
  const best = fns.map(() => Infinity);
  for (let k = 0; k < n; k++)
    fns.forEach((f, i) => {
      const t0 = performance.now();
      f();
      best[i] = Math.min(best[i], performance.now() - t0);
    });
  return best;
}

interface Row {
  backend: string;
  threads: number;
  model: string;
  case: Case;
  seconds: number;
  estimated: boolean;
  /** torch only: native kernel calls and the milliseconds spent inside them */
  kernelCalls?: number;
  nativeMs?: number;
}

const list = (v: string | undefined, d: string[]) =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : d;

/**
 * Best of up to 10 runs, stopping once 20 s have been spent: the minimum is what the hardware can do,
 * robust to other work on a shared machine (torch_ref.py times PyTorch the same way). The mean is
 * for the time breakdown, whose counters add up over all runs.
 */
function timeBest(fn: () => void): { best: number; mean: number; runs: number } {
  let best = Infinity;
  let spent = 0;
  let runs = 0;
  // 10, not 3: a small CNN's 0.1-0.2 s cases scatter by 1.5x on this shared machine; big cases stop at 20 s
  while (runs < 10 && spent < 20) {
    const t0 = performance.now();
    fn();
    const s = (performance.now() - t0) / 1000;
    best = Math.min(best, s);
    spent += s;
    runs++;
  }
  return { best, mean: spent / runs, runs };
}

function peakGflops(): number {
  const n = 1024;
  const a = tf.randomUniform([n, n]);
  const b = tf.randomUniform([n, n]);
  tf.tidy(() => void tf.matMul(a, b).dataSync());
  let best = Infinity;
  for (let i = 0; i < 3; i++) best = Math.min(best, timeBest(() => tf.tidy(() => void tf.matMul(a, b).dataSync())).best);
  tf.dispose([a, b]);
  return (2 * n ** 3) / best / 1e9;
}

/** Times one model; `fused`: on torch, the whole model as one native call (rows labelled "torch fused"). */
function benchModel(backend: string, threads: number, name: string, batch: number, fullStep: boolean, fused = false): Row[] {
  const savedFlag = process.env.PIAT_FUSED_MODEL;
  process.env.PIAT_FUSED_MODEL = fused ? '1' : '0';
  try {
    return timeModel(backend, threads, name, batch, fullStep, fused);
  } finally {
    if (savedFlag === undefined) delete process.env.PIAT_FUSED_MODEL;
    else process.env.PIAT_FUSED_MODEL = savedFlag;
  }
}

/** benchModel's timings, with PIAT_FUSED_MODEL already set; the lean-step table only for the per-layer path. */
function timeModel(backend: string, threads: number, name: string, batch: number, fullStep: boolean, fused: boolean): Row[] {
  const label = fused ? `${backend} fused` : backend;
  const { make, shape } = MODELS[name];
  const model = make();
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const sgd = new Sgd({ lr: 0.01, momentum: 0.9 });
  // micro-batches that fit wasm's 4 GiB heap (WRN-34-10 keeps ~45 MB of activations per image)
  const micro = name === 'small-cnn' || backend !== 'wasm' ? undefined : Number(process.env.BENCH_MICRO ?? (name === 'wrn34-10' ? 8 : 32));
  const rows: Row[] = [];
  const run = (b: number) => {
    const data = new ArrayDataset(
      `bench-${b}`,
      new Float32Array(b * shape.reduce((p, q) => p * q, 1)).map((_, i) => (i % 251) / 251),
      new Int32Array(b).map((_, i) => i % 10),
      shape,
      10,
    );
    const idx = range(b);
    const x = data.batch(idx);
    const ctx = { rng: new Rng(1), epoch: 0 };
    // the trainer's step; torch waits for the device (a no-op on the CPU) as PyTorch's side does
    const leanStep = (objective: ReturnType<typeof standard>) => {
      trainStepLazy(model, objective, sgd, vars, data, idx, ctx, 0.01, micro).dispose();
      if (backend === 'torch') (tf.backend() as unknown as TorchBackend).native.sync();
    };
    const fns: Record<Case, () => void> = {
      forward: () => tf.tidy(() => void logits(model, x.x).dataSync()),
      // in micro-batches like the training step (the whole batch would not fit in wasm's heap)
      'input-grad': () => {
        const m = micro ?? b;
        for (let s = 0; s < b; s += m) {
          tf.tidy(() => {
            const xs = x.x.slice(s, Math.min(m, b - s));
            const ys = x.y.slice(s, Math.min(m, b - s));
            tf.grad((a: tf.Tensor) => tf.sum(crossEntropyPerExample(logits(model, a), ys)))(xs).dataSync();
          });
        }
      },
      'weight-grad': () => leanStep(standard()),
      'pgd10-train': () => leanStep(pgdAt({ attack: PAPER_TRAIN_ATTACK })),
    };
    // the old path: every step's loss read, then one SGD update per weight
    const oldStep = () => {
      const t = tf.backend() as unknown as TorchBackend;
      t.foreachSgd = false;
      void trainStep(model, standard(), sgd, vars, data, idx, ctx, 0.01, micro);
      t.foreachSgd = true;
    };
    return { fns, oldStep, dispose: () => tf.dispose([x.x, x.y]) };
  };
  const warm = run(2); // builds kernels and packs weights once, cheaply
  CASES.forEach((c) => warm.fns[c]());
  warm.dispose();
  const main = run(batch);
  const torch = backend === 'torch' ? (tf.backend() as unknown as TorchBackend) : undefined;
  const callCount = () => (torch ? [...torch.calls.values()].reduce((a, b) => a + b, 0) : 0);
  for (const c of CASES) {
    if (c === 'pgd10-train' && !fullStep) {
      const part = (k: Case) => rows.find((r) => r.case === k);
      const sum = (f: (r: Row) => number | undefined) => 10 * (f(part('input-grad')!) ?? NaN) + (f(part('weight-grad')!) ?? NaN);
      rows.push({
        backend: label,
        threads,
        model: name,
        case: c,
        seconds: sum((r) => r.seconds),
        estimated: true,
        kernelCalls: torch && sum((r) => r.kernelCalls),
        nativeMs: torch && sum((r) => r.nativeMs),
      });
      continue;
    }
    const calls0 = callCount();
    if (torch) {
      torch.profile = true;
      torch.nativeMs = 0;
    }
    const timing = timeBest(main.fns[c]);
    const seconds = timing.best;
    const row: Row = { backend: label, threads, model: name, case: c, seconds, estimated: false };
    if (torch) {
      // per run, scaled to the best run's time: the share in kernels of an average run
      torch.profile = false;
      row.kernelCalls = Math.round((callCount() - calls0) / timing.runs);
      row.nativeMs = (torch.nativeMs / timing.runs) * (timing.best / timing.mean);
    }
    rows.push(row);
    process.stderr.write(`  ${label}×${threads} ${name} ${c}: ${seconds.toFixed(2)}s\n`);
  }
  if (torch && !fused) {
    const grads = vars.map((v) => tf.onesLike(v));
    const sgdWith = (foreach: boolean) => () => {
      torch.foreachSgd = foreach;
      sgd.step(vars, grads, 1e-6);
      torch.native.sync();
      torch.foreachSgd = true;
    };
    const [sgdPerParameter, sgdOneCall] = bestAlternating([sgdWith(false), sgdWith(true)], 20);
    tf.dispose(grads);
    const steps = Number(process.env.BENCH_LEAN_RUNS ?? 3);
    const [stepOld, stepLean] = bestAlternating([main.oldStep, main.fns['weight-grad']], steps);
    leanRows.push({ threads, model: name, sgdPerParameter, sgdOneCall, stepOld, stepLean });
    process.stderr.write(
      `  torch×${threads} ${name} SGD ${sgdPerParameter.toFixed(1)} → ${sgdOneCall.toFixed(1)} ms, step ${stepOld.toFixed(0)} → ${stepLean.toFixed(0)} ms\n`,
    );
  }
  main.dispose();
  sgd.dispose();
  model.dispose();
  return rows;
}

// whether (and which) PyTorch imports: asked once per bench run
let torchProbe: SpawnSyncReturns<string> | undefined;

/** PyTorch timings of one model at one thread count (torch_ref.py); `note` says what ran, or why not. */
function torchReference(m: string, batch: number, fullStep: string[], threads: number): { rows: Row[]; note: string } {
  const py = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
  const probe = (torchProbe ??= spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }));
  if (probe.status !== 0)
    return {
      rows: [],
      note: 'PyTorch reference skipped: Debian python3-torch is not installed (apt-get install python3-torch, or bash scripts/setup.sh --bench).',
    };
  const device = process.env.BENCH_TORCH_DEVICE ?? 'cpu';
  const note = `PyTorch ${probe.stdout.trim().split(' ')[0]} (${py}) on ${device} at ${threads} thread(s), same batch and architectures`;
  const rows: Row[] = [];
  const cases = CASES.filter((c) => c !== 'pgd10-train' || fullStep.includes(m));
  const r = spawnSync(py, [path.join(__dirname, '..', '..', 'bench', 'torch_ref.py'), m, String(batch), ...cases], {
    encoding: 'utf8',
    env: { ...process.env, BENCH_TORCH_THREADS: String(threads) },
  });
  if (r.status !== 0) {
    process.stderr.write(`PyTorch ${m} failed: ${r.stderr.slice(-500)}\n`);
    return { rows, note };
  }
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, number>;
  for (const c of cases) rows.push({ backend: 'pytorch', threads: out.threads, model: m, case: c, seconds: out[c], estimated: false });
  if (!fullStep.includes(m)) {
    rows.push({
      backend: 'pytorch',
      threads: out.threads,
      model: m,
      case: 'pgd10-train',
      seconds: 10 * out['input-grad'] + out['weight-grad'],
      estimated: true,
    });
  }
  process.stderr.write(`  pytorch×${threads} ${m}: ${JSON.stringify(out)}\n`);
  return { rows, note };
}

/** Adds `fresh` to `rows`, keeping for each backend, thread count, model and case the fastest timing. */
function keepBest(rows: Row[], fresh: Row[]): void {
  for (const r of fresh) {
    const i = rows.findIndex((q) => q.backend === r.backend && q.threads === r.threads && q.model === r.model && q.case === r.case);
    if (i < 0) rows.push(r);
    else if (r.seconds < rows[i].seconds) rows[i] = r;
  }
}

async function main() {
  const batch = Number(process.env.BENCH_BATCH ?? 128);
  const models = list(process.env.BENCH_MODELS, Object.keys(MODELS));
  const fullStep = list(process.env.BENCH_FULL_STEP, ['small-cnn', 'resnet18', 'resnet18-host']);
  const backends = list(process.env.BENCH_BACKENDS, [...BACKEND_NAMES]) as BackendName[];
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const threadCounts = process.env.BENCH_THREADS
    ? list(process.env.BENCH_THREADS, []).map(Number)
    : process.env.PIAT_THREADS
      ? [Number(process.env.PIAT_THREADS)]
      : [...new Set([1, cores])];
  const rows: Row[] = [];
  const peaks: Record<string, number> = {};
  const flops: Record<string, number> = {};
  for (const m of models) {
    if (!MODELS[m]) throw new Error(`Unknown model '${m}'. Expected one of: ${Object.keys(MODELS).join(', ')}`);
  }
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
  const notes = new Set<string>();
  const referenced = new Set<string>();
  for (const b of backends) {
    try {
      await initBackend({ backend: b });
    } catch (e) {
      console.log(`${b}: not available (${(e as Error).message.split('\n')[0]})`);
      continue;
    }
    for (const threads of b === 'torch' ? threadCounts : [1]) {
      if (b === 'torch') (tf.backend() as unknown as TorchBackend).native.setThreads(threads);
      const label = b === 'torch' ? `${b}×${threads}` : b;
      peaks[label] = peakGflops();
      for (const m of models) {
        if (b === 'cpu' && m !== 'small-cnn' && process.env.BENCH_CPU_ALL !== '1') continue;
        const model = MODELS[m].make();
        flops[m] = forwardFlops(model);
        model.dispose();
        // PyTorch right after the first backend timed at this thread count, alternating for `rounds`
        const withReference = threadCounts.includes(threads) && !referenced.has(`${m}×${threads}`);
        for (let round = 0; round < (withReference ? rounds : 1); round++) {
          keepBest(rows, benchModel(b, threads, m, batch, fullStep.includes(m)));
          if (b === 'torch' && process.env.BENCH_FUSED !== '0')
            keepBest(rows, benchModel(b, threads, m, batch, fullStep.includes(m), true));
          if (!withReference) continue;
          const ref = torchReference(m, batch, fullStep, threads);
          keepBest(rows, ref.rows);
          notes.add(ref.note);
        }
        if (withReference) referenced.add(`${m}×${threads}`);
      }
    }
  }
  console.log(`\npiat-ts bench · batch ${batch} · ${new Date().toISOString()} · ${os.cpus().length} cores (${os.cpus()[0]?.model})`);
  console.log(
    `peak (1024² matmul): ${Object.entries(peaks)
      .map(([b, g]) => `${b} ${g.toFixed(1)} GFLOP/s`)
      .join(', ')}`,
  );
  const torchInfo = (tf.findBackend('torch') as unknown as TorchBackend | undefined)?.native.info();
  if (torchInfo)
    console.log(
      `torch backend: libtorch ${torchInfo.libtorch} on ${torchInfo.device}, conv layout ${torchInfo.convLayout}, malloc ${torchInfo.malloc} (PIAT_TORCH_MALLOC)`,
    );
  notes.forEach((n) => console.log(n));
  if (rounds > 1) console.log(`best of ${rounds} rounds, each timing piat-ts and then PyTorch back to back`);
  console.log('\n| model | case | backend | threads | img/s | GFLOP/s | × PyTorch (same threads) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const ips = batch / r.seconds;
    const gf = (FORWARD_UNITS[r.case] * flops[r.model] * batch) / r.seconds / 1e9;
    const ref = rows.find((q) => q.backend === 'pytorch' && q.model === r.model && q.case === r.case && q.threads === r.threads);
    const ratio = ref && r.backend !== 'pytorch' ? (ref.seconds / r.seconds).toFixed(2) : '';
    console.log(
      `| ${r.model} | ${r.case}${r.estimated ? ' (est.)' : ''} | ${r.backend} | ${r.threads} | ${ips.toFixed(ips < 10 ? 2 : 0)} | ${gf.toFixed(1)} | ${ratio} |`,
    );
  }
  const speedups = rows.filter((r) => (r.backend.startsWith('torch') || r.backend === 'pytorch') && r.threads > 1);
  if (speedups.length) {
    console.log('\nSpeed-up from 1 thread to all cores:');
    console.log('\n| model | case | backend | threads | speed-up |');
    console.log('|---|---|---|---|---|');
    for (const r of speedups) {
      const one = rows.find((q) => q.backend === r.backend && q.model === r.model && q.case === r.case && q.threads === 1);
      if (one)
        console.log(
          `| ${r.model} | ${r.case}${r.estimated ? ' (est.)' : ''} | ${r.backend} | ${r.threads} | ${(one.seconds / r.seconds).toFixed(2)}× |`,
        );
    }
  }
  if (leanRows.length) {
    console.log('\nThe lean step on torch against the old path (best of alternating runs; BENCH_LEAN_RUNS weight steps, 20 SGD updates):');
    console.log('\n| model | threads | SGD update, one tfjs op at a time | one native call | × | weight step, old path | lean | × |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of leanRows)
      console.log(
        `| ${r.model} | ${r.threads} | ${r.sgdPerParameter.toFixed(2)} ms | ${r.sgdOneCall.toFixed(2)} ms | ${(r.sgdPerParameter / r.sgdOneCall).toFixed(2)} | ${r.stepOld.toFixed(1)} ms | ${r.stepLean.toFixed(1)} ms | ${(r.stepOld / r.stepLean).toFixed(2)} |`,
      );
  }
  const profiled = rows.filter((r) => r.kernelCalls !== undefined);
  if (profiled.length) {
    console.log('\nWhere the time goes on torch: native kernel calls vs the rest (tfjs engine, tape, JavaScript):');
    if ((tf.findBackend('torch') as unknown as TorchBackend | undefined)?.native.info().device.startsWith('cuda')) {
      console.log('(on CUDA kernels run asynchronously: "in kernels" is launch time plus waits at reads, so the split is only indicative)');
    }
    console.log('\n| model | case | backend | threads | kernel calls | in kernels | rest | rest per call |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of profiled) {
      const rest = r.seconds * 1000 - (r.nativeMs ?? 0);
      console.log(
        `| ${r.model} | ${r.case}${r.estimated ? ' (est.)' : ''} | ${r.backend} | ${r.threads} | ${r.kernelCalls} | ${((r.nativeMs ?? 0) / 1000).toFixed(2)} s | ${(rest / 1000).toFixed(2)} s | ${((rest * 1000) / (r.kernelCalls || 1)).toFixed(0)} µs |`,
      );
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
