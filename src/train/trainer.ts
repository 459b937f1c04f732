/**
 * The training loop: seeded, resumable, checkpointed every epoch, with hooks (PIAT) and a
 * per-epoch evaluation (clean + PGD20 on a test subset) that keeps the Best checkpoint.
 *
 * Run directory:
 *   config.json     full config, objective and hook settings, backend, versions
 *   records.jsonl   one EpochRecord per completed epoch
 *   checkpoint/     last completed epoch (model.json + weights.bin, optimizer.bin, state.json)
 *   best/           weights with the highest robust test accuracy so far
 *   epochs/epoch-NNN/  every epoch's weights when keepEpochCheckpoints (epoch-000 = initial)
 *   done.json       written when all epochs finished
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset, batchIndices } from '../data/dataset';
import { Objective } from '../objectives/types';
import { pgd, PgdOptions, validatePgd } from '../attacks/pgd';
import { accuracy } from '../eval/accuracy';
import { backendInfo } from '../backend';
import { PiatError } from '../util/errors';
import { Rng } from '../util/rng';
import { Progress } from '../util/progress';
import { sha256, writeFileAtomic } from '../util/fsx';
import { Sgd, SgdOptions, validateSgd } from './sgd';
import { LrSchedule, lrAt } from './lr';
import { TrainerHook } from './hooks';
import { EpochRecord } from './records';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { loadModel, saveModel } from './model-io';
import { trainStep } from './step';
import { environment } from '../util/environment';

export interface EvalConfig {
  /** number of test examples evaluated each epoch */
  n: number;
  batchSize?: number;
  /** robustness attack; default PGD20 of the paper (ε 8/255, α 2/255); null for clean only */
  attack?: PgdOptions | null;
}

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  seed: number;
  optimizer: SgdOptions;
  lrSchedule?: LrSchedule;
  /** per-epoch evaluation on the test set (needs `test`); omitted: none */
  eval?: EvalConfig;
  /** also keep every epoch's weights under epochs/ (for analyses of single epochs) */
  keepEpochCheckpoints?: boolean;
  /** accumulate each batch's gradient over micro-batches of this size (bounded memory; see train/step.ts) */
  microBatchSize?: number;
}

export interface TrainOptions {
  model: tf.LayersModel;
  objective: Objective;
  train: ArrayDataset;
  test?: ArrayDataset;
  config: TrainConfig;
  hooks?: TrainerHook[];
  /** where checkpoints and records go; without it nothing is written and nothing resumes */
  runDir?: string;
  /** extra fields recorded in config.json (e.g. the experiment's name) */
  meta?: Record<string, unknown>;
  /** progress lines (default true) */
  progress?: boolean;
  onEpoch?: (r: EpochRecord) => void;
  /** checked between batches: when it returns true, training stops after the current epoch is saved */
  shouldStop?: () => boolean;
}

export interface TrainResult {
  records: EpochRecord[];
  best: { epoch: number; robustAcc: number } | null;
  /** true when shouldStop ended the run early */
  stopped: boolean;
  runDir?: string;
}

/** PGD20 of the paper's evaluation: ε = 8/255, α = 2/255, 20 steps, random start. */
export const PAPER_PGD20: PgdOptions = { eps: 8 / 255, alpha: 2 / 255, steps: 20, randomStart: true };

export function validateTrainConfig(c: TrainConfig): void {
  const whole = (field: string, v: unknown, min: number) => {
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= min)) {
      throw new PiatError('bad-config', `config.${field} must be a whole number >= ${min}, got ${JSON.stringify(v)}`);
    }
  };
  whole('epochs', c.epochs, 1);
  whole('batchSize', c.batchSize, 1);
  whole('seed', c.seed, 0);
  if (!c.optimizer) throw new PiatError('bad-config', 'config.optimizer is missing (e.g. { "lr": 0.01, "momentum": 0.9 })');
  validateSgd(c.optimizer);
  if (c.microBatchSize !== undefined) whole('microBatchSize', c.microBatchSize, 1);
  if (c.eval) {
    whole('eval.n', c.eval.n, 1);
    if (c.eval.attack) validatePgd(c.eval.attack);
  }
}

function configHash(o: TrainOptions): string {
  return sha256(JSON.stringify({ config: o.config, objective: o.objective.config, name: o.objective.name, hooks: (o.hooks ?? []).map((h) => [h.name, h.config]) }));
}

function readRecords(runDir: string, upToEpoch: number): EpochRecord[] {
  const f = path.join(runDir, 'records.jsonl');
  if (!fs.existsSync(f)) return [];
  return fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EpochRecord)
    .filter((r) => r.epoch <= upToEpoch);
}

function writeRecords(runDir: string, records: EpochRecord[]): void {
  writeFileAtomic(path.join(runDir, 'records.jsonl'), records.map((r) => JSON.stringify(r) + '\n').join(''));
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const { model, objective, config: c } = o;
  validateTrainConfig(c);
  if (c.eval && !o.test) throw new PiatError('bad-config', 'config.eval is set but no test dataset was given');
  const hooks = o.hooks ?? [];
  const sgd = new Sgd(c.optimizer);
  const rng = new Rng(c.seed);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const evalAttack = c.eval?.attack === undefined ? PAPER_PGD20 : c.eval.attack;
  const hash = configHash(o);
  const lrSchedule: LrSchedule = c.lrSchedule ?? { kind: 'constant' };

  let records: EpochRecord[] = [];
  let best: TrainResult['best'] = null;
  let startEpoch = 0;

  if (o.runDir) {
    fs.mkdirSync(o.runDir, { recursive: true });
    const cp = await loadCheckpoint(o.runDir, model);
    if (cp) {
      if (cp.state.configHash !== hash) {
        throw new PiatError(
          'config-mismatch',
          `${o.runDir} holds a run with a different configuration; choose another run directory or delete it to start over.`,
        );
      }
      cp.warnings.forEach((w) => process.stderr.write(`warning: ${w}\n`));
      sgd.setState(vars, cp.velocity);
      rng.setState(cp.state.rngState);
      for (const h of hooks) h.restore?.(cp.state.hooks[h.name] ?? {});
      objective.restore?.(cp.state.objective ?? {});
      const avgHook = hooks.find((h) => h.restoreAveraged);
      if (avgHook && fs.existsSync(path.join(cp.dir, 'averaged', 'model.json'))) {
        const m = await loadModel(path.join(cp.dir, 'averaged'));
        const ws = m.getWeights();
        avgHook.restoreAveraged?.(ws);
        m.dispose();
      }
      best = cp.state.best;
      startEpoch = cp.state.epoch;
      records = readRecords(o.runDir, startEpoch);
      writeRecords(o.runDir, records);
      if (startEpoch > 0 && o.progress !== false) process.stderr.write(`resuming ${o.runDir} after epoch ${startEpoch}\n`);
    } else {
      fs.rmSync(path.join(o.runDir, 'records.jsonl'), { force: true });
      fs.rmSync(path.join(o.runDir, 'done.json'), { force: true });
      const bk = backendInfo();
      writeFileAtomic(
        path.join(o.runDir, 'config.json'),
        JSON.stringify(
          {
            config: c,
            objective: { name: objective.name, ...objective.config },
            hooks: hooks.map((h) => ({ name: h.name, ...h.config })),
            model: { name: model.name, parameters: model.countParams() },
            data: { train: o.train.name, trainSize: o.train.size, test: o.test?.name, testSize: o.test?.size },
            meta: o.meta ?? {},
            backend: bk,
            environment: environment(),
            startedAt: new Date().toISOString(),
          },
          null,
          2,
        ),
      );
      if (c.keepEpochCheckpoints) await saveModel(model, path.join(o.runDir, 'epochs', 'epoch-000'));
    }
  }

  let stopped = false;
  for (let epoch = startEpoch; epoch < c.epochs; epoch++) {
    const lr = lrAt(lrSchedule, c.optimizer.lr, epoch);
    const t0 = Date.now();
    for (const h of hooks) h.onEpochStart?.({ model, epoch });
    const batches = batchIndices(o.train.size, c.batchSize, rng);
    const parts: Record<string, number[]> = {};
    const progress = new Progress({ label: `epoch ${epoch + 1}/${c.epochs}`, total: batches.length, enabled: o.progress !== false });

    for (let b = 0; b < batches.length; b++) {
      const { values } = trainStep(model, objective, sgd, vars, o.train, batches[b], { rng, epoch }, lr, c.microBatchSize);
      for (const h of hooks) h.onStepEnd?.({ model, epoch });
      if (!Number.isFinite(values.total)) {
        throw new PiatError(
          'nan-loss',
          `The training loss became ${values.total} at epoch ${epoch + 1}, batch ${b + 1} ` +
            `(${Object.entries(values).map(([k, v]) => `${k}=${v}`).join(', ')}). The weights were not updated; ` +
            (o.runDir ? `the checkpoint of epoch ${epoch} in ${o.runDir} is intact. ` : '') +
            `Lower the learning rate (now ${lr}) or check the data for NaN or infinite values.`,
        );
      }
      for (const [k, v] of Object.entries(values)) (parts[k] ??= []).push(v);
      progress.tick(1, `loss ${values.total.toFixed(4)}`);
      if (o.shouldStop?.()) stopped = true;
    }

    const hookFields: Record<string, number | null> = { ...(objective.onEpochEnd?.(epoch) ?? {}) };
    for (const h of hooks) Object.assign(hookFields, h.onEpochEnd?.({ model, epoch }) ?? {});
    const trainSeconds = (Date.now() - t0) / 1000;

    const t1 = Date.now();
    let cleanAcc: number | null = null;
    let robustAcc: number | null = null;
    const averaged = hooks.map((h) => h.averagedWeights?.()).find((w) => w) ?? null;
    if (c.eval && o.test) {
      const ev = { n: c.eval.n, batchSize: c.eval.batchSize };
      // with weight averaging (SWA/EMA) the averaged weights are what is evaluated and kept as Best
      const raw = averaged ? model.getWeights().map((t) => tf.clone(t)) : null;
      if (averaged) model.setWeights(averaged);
      cleanAcc = accuracy(model, o.test, undefined, ev);
      if (evalAttack) {
        // a fixed seed per epoch, not drawn from the training stream: evaluation never changes training
        const seed = c.seed * 7919 + epoch;
        robustAcc = accuracy(model, o.test, (m, x, y) => pgd(m, x, y, { ...evalAttack, seed }), ev);
      }
      if (raw) {
        model.setWeights(raw);
        tf.dispose(raw);
      }
    }
    const record: EpochRecord = {
      epoch: epoch + 1,
      lr,
      ...hookFields,
      loss: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, mean(v)])),
      cleanAcc,
      robustAcc,
      trainSeconds,
      evalSeconds: (Date.now() - t1) / 1000,
    };
    records.push(record);
    const improved = robustAcc !== null && (!best || robustAcc > best.robustAcc);
    if (improved) best = { epoch: epoch + 1, robustAcc: robustAcc as number };

    if (o.runDir) {
      if (improved) await saveWeightsAs(model, averaged, path.join(o.runDir, 'best'), { epoch: epoch + 1, robustAcc });
      if (averaged) await saveWeightsAs(model, averaged, path.join(o.runDir, 'averaged'), { epoch: epoch + 1 });
      if (c.keepEpochCheckpoints) await saveModel(model, path.join(o.runDir, 'epochs', `epoch-${String(epoch + 1).padStart(3, '0')}`));
      writeRecords(o.runDir, records);
      await saveCheckpoint(o.runDir, model, sgd.getState(), {
        epoch: epoch + 1,
        rngState: rng.getState(),
        hooks: Object.fromEntries(hooks.map((h) => [h.name, h.state?.() ?? {}])),
        objective: objective.state?.() ?? {},
        best,
        configHash: hash,
      }, averaged ? (dir) => saveWeightsAs(model, averaged, path.join(dir, 'averaged'), { epoch: epoch + 1 }) : undefined);
    }
    o.onEpoch?.(record);
    if (o.progress !== false) {
      const acc = cleanAcc === null ? '' : ` · clean ${(100 * cleanAcc).toFixed(1)}%` + (robustAcc === null ? '' : ` · robust ${(100 * robustAcc).toFixed(1)}%`);
      process.stderr.write(`epoch ${epoch + 1}/${c.epochs} · loss ${record.loss.total.toFixed(4)}${acc} · ${(trainSeconds + record.evalSeconds).toFixed(1)}s\n`);
    }
    if (stopped) break;
  }

  if (o.runDir && !stopped) {
    writeFileAtomic(
      path.join(o.runDir, 'done.json'),
      JSON.stringify({ finishedAt: new Date().toISOString(), epochs: records.length, best, seconds: records.reduce((s, r) => s + r.trainSeconds + r.evalSeconds, 0) }, null, 2),
    );
  }
  sgd.dispose();
  hooks.forEach((h) => h.dispose?.());
  return { records, best, stopped, runDir: o.runDir };
}

/** Saves `weights` (or the model's own when null) in the model's architecture. */
async function saveWeightsAs(model: tf.LayersModel, weights: tf.Tensor[] | null, dir: string, meta: Record<string, unknown>): Promise<void> {
  if (!weights) return saveModel(model, dir, meta);
  const raw = model.getWeights().map((t) => tf.clone(t));
  model.setWeights(weights);
  try {
    await saveModel(model, dir, meta);
  } finally {
    model.setWeights(raw);
    tf.dispose(raw);
  }
}
