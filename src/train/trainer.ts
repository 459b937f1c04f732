/**
 * The training loop: seeded, resumable, checkpointed every epoch, with hooks (PIAT) and a
 * per-epoch evaluation (clean + PGD20 on a test subset) that keeps the Best checkpoint.
 *
 * Run directory:
 *   config.json     full config, objective and hook settings, backend, versions
 *   records.jsonl   one EpochRecord per completed epoch
 *   checkpoint/     last completed epoch (model.json + weights.bin, optimizer.bin, state.json)
 *   checkpoint.old/ the one before (the fallback); checkpoint.corrupt-<time>/ a corrupt one moved aside
 *   run.lock        the pid and host of the process writing here (one writer at a time)
 *   best/           weights with the highest robust test accuracy so far
 *   epochs/epoch-NNN/  every epoch's weights when keepEpochCheckpoints (epoch-000 = initial)
 *   done.json       written when all epochs finished
 *
 * A write the OS refuses (disk full, no permission, read-only, the folder gone) ends the run with
 * PiatError('write-failed') naming the folder, what was being written, the reason, and the last
 * good checkpoint, which is kept (write-errors.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset, batchIndices } from '../data/dataset';
import { Objective } from '../objectives/types';
import { pgd, PgdOptions } from '../attacks/pgd';
import { PAPER_EVAL_ATTACK } from '../settings';
import { accuracyOf, correctness } from '../eval/accuracy';
import { toPerImage } from '../eval/per-image';
import { backendInfo, computeIdentity, torchPath } from '../backend';
import { PiatError } from '../util/errors';
import { Rng } from '../util/rng';
import { InterruptWatch, watchInterrupts } from '../util/interrupt';
import { readJson, sha256, writeFileAtomic } from '../util/fsx';
import { Sgd } from './sgd';
import { LrSchedule, lrAt } from './lr';
import { TrainerHook } from './hooks';
import { EpochRecord, readRecordsFile, SplitPerImage } from './records';
import { LoadedCheckpoint, loadCheckpoint, readState, saveCheckpoint, savedCheckpoint } from './checkpoint';
import { loadModel, saveModel } from './model-io';
import { PendingLoss, readLosses, trainStep, trainStepLazy } from './step';
import { RunProgress } from './run-progress';
import { environment } from '../util/environment';
import { validate } from '../util/schema';
import { EvalConfig, TrainConfig, trainConfigSchema } from './config-schema';
import { Identity, identityDiff, identityMismatch, runIdentity } from './identity';
import { acquireRunLock } from './run-lock';
import { writeFailure, writing } from './write-errors';
import type { TrainerState } from './checkpoint';

// declared beside their schema (config-schema.ts), so that identity.ts needs nothing of this module
export type { EvalConfig, TrainConfig };

export interface TrainOptions {
  model: tf.LayersModel;
  objective: Objective;
  train: ArrayDataset;
  test?: ArrayDataset;
  /**
   * a held-out split (e.g. training images not trained on) evaluated each epoch like the test set;
   * when given, Best is the epoch with the highest robust accuracy here, so the test set that
   * reports Best did not choose it (recorded as valCleanAcc / valRobustAcc)
   */
  validation?: ArrayDataset;
  config: TrainConfig;
  hooks?: TrainerHook[];
  /** where checkpoints and records go; without it nothing is written and nothing resumes */
  runDir?: string;
  /** extra fields recorded in config.json (e.g. the experiment's name) */
  meta?: Record<string, unknown>;
  /** a progress line while training and a summary line at the end (default true); see run-progress.ts */
  progress?: boolean;
  onEpoch?: (r: EpochRecord) => void;
  /** checked between batches: when it returns true, training stops after the current epoch is saved */
  shouldStop?: () => boolean;
  /** fields the caller adds to the run folder's identity (e.g. a run config's dataset and data folder; see identity.ts) */
  identity?: Identity;
  /**
   * A caller that wants only the records (it discards the model): a finished run is then re-opened
   * from its state and records alone, without loading its weights and optimizer state into `model`,
   * which keeps its initial weights. Its identity is checked as on resuming.
   */
  recordsOnly?: boolean;
  /**
   * When the training loss is read from the device (default 'lazy'): 'lazy' reads it at the first
   * batch of an epoch, then at most once a second (LOSS_READ_MS) and at the epoch's end, all
   * unread batches in one transfer, so a GPU is not drained after every step; a NaN loss is then
   * caught at that read, within the same epoch and before anything of it is saved, after the
   * weights took the batches in between. 'every-step' reads it after each batch and skips the
   * update of a batch whose loss is not finite. Records and weights are the same either way.
   */
  lossReads?: 'lazy' | 'every-step';
}

/** How often, at most, a lazy trainer reads the loss within an epoch (the progress line's loss and the NaN check). */
export const LOSS_READ_MS = 1000;

export interface TrainResult {
  records: EpochRecord[];
  /** the Best epoch and its robust accuracy on the split that selected it (validation when given, else test) */
  best: { epoch: number; robustAcc: number; selectedOn?: 'validation' | 'test' } | null;
  /** true when shouldStop ended the run early */
  stopped: boolean;
  runDir?: string;
}

/** Checks every field of the config, nested ones included (see config-schema.ts); throws PiatError('bad-config') naming it. */
export function validateTrainConfig(c: TrainConfig): void {
  // a custom attack loss (a function) is for code, not JSON: the schema checks the rest
  const attack = c?.eval?.attack;
  const forSchema = attack && typeof attack.loss === 'function' ? { ...c, eval: { ...c.eval, attack: { ...attack, loss: undefined } } } : c;
  validate(forSchema, trainConfigSchema, 'config');
}

/** The checksum of older checkpoints (before identity.ts): training settings, objective and hooks only. */
function legacyConfigHash(o: TrainOptions): string {
  return sha256(
    JSON.stringify({
      config: o.config,
      objective: o.objective.config,
      name: o.objective.name,
      hooks: (o.hooks ?? []).map((h) => [h.name, h.config]),
    }),
  );
}

/**
 * Throws PiatError('config-mismatch') naming the fields unless the checkpoint's run is this one.
 * The backend may differ for a finished run: nothing is computed on it any more.
 */
function checkSameRun(o: TrainOptions & { runDir: string }, state: TrainerState, identity: Identity): void {
  if (state.identity) {
    const finished = state.epoch >= o.config.epochs;
    const diffs = identityDiff(state.identity, identity).filter((d) => !(finished && d.field === 'backend'));
    if (diffs.length) throw identityMismatch(o.runDir, diffs);
    return;
  }
  // a checkpoint written before identities: its checksum, and what its config.json says about data and model
  if (state.configHash !== legacyConfigHash(o)) {
    throw new PiatError(
      'config-mismatch',
      `${o.runDir} holds a run with different training settings, objective or hooks (its checkpoint predates per-field records: compare its config.json with yours). Choose another run directory, or delete this one to start over.`,
    );
  }
  const cfgFile = path.join(o.runDir, 'config.json');
  if (!fs.existsSync(cfgFile)) return;
  const cfg = readJson<{ data?: Record<string, unknown>; model?: { parameters?: number } }>(cfgFile);
  const now: Record<string, unknown> = {
    'data.train': o.train.name,
    'data.trainSize': o.train.size,
    'data.test': o.test?.name,
    'data.testSize': o.test?.size,
    'model.parameters': o.model.countParams(),
  };
  const was: Record<string, unknown> = {
    'data.train': cfg.data?.train,
    'data.trainSize': cfg.data?.trainSize,
    'data.test': cfg.data?.test,
    'data.testSize': cfg.data?.testSize,
    'model.parameters': cfg.model?.parameters,
  };
  const diffs = Object.keys(now).filter((k) => JSON.stringify(now[k] ?? null) !== JSON.stringify(was[k] ?? null));
  if (diffs.length)
    throw identityMismatch(
      o.runDir,
      diffs.map((field) => ({ field, was: JSON.stringify(was[field] ?? null), now: JSON.stringify(now[field] ?? null) })),
    );
}

const runLabel = (o: TrainOptions) =>
  typeof o.meta?.method === 'string' ? o.meta.method : o.runDir ? path.basename(o.runDir) : 'training';

/** The run's progress line from epoch `startEpoch` on (a finished run's: its one summary line). */
function progressFrom(o: TrainOptions, startEpoch: number, records: EpochRecord[]): RunProgress {
  const c = o.config;
  return new RunProgress(
    {
      label: runLabel(o),
      epochs: c.epochs,
      batchesPerEpoch: Math.ceil(o.train.size / c.batchSize),
      startEpoch,
      runDir: o.runDir,
      enabled: o.progress !== false,
    },
    records,
  );
}

/** A finished run's records and Best from done.json and its checkpoint's state (null: not finished, or the state is unreadable). */
function finishedRun(o: TrainOptions & { runDir: string }, identity: Identity): TrainResult | null {
  if (!fs.existsSync(path.join(o.runDir, 'done.json'))) return null;
  let state: TrainerState;
  try {
    state = readState(path.join(o.runDir, 'checkpoint'));
  } catch {
    return null; // the full path below falls back to checkpoint.old and says what was wrong
  }
  if (state.epoch < o.config.epochs) return null;
  checkSameRun(o, state, identity);
  const records = readRecords(o.runDir, state.epoch);
  progressFrom(o, state.epoch, records).finish(records, state.best, false);
  return { records, best: state.best, stopped: false, runDir: o.runDir };
}

function readRecords(runDir: string, upToEpoch: number): EpochRecord[] {
  return readRecordsFile(runDir).filter((r) => r.epoch <= upToEpoch);
}

function writeRecords(runDir: string, records: EpochRecord[]): void {
  writeFileAtomic(path.join(runDir, 'records.jsonl'), records.map((r) => JSON.stringify(r) + '\n').join(''));
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  validateTrainConfig(o.config);
  if (o.config.eval && !o.test) throw new PiatError('bad-config', 'config.eval is set but no test dataset was given');
  if (o.validation && !o.config.eval)
    throw new PiatError(
      'bad-config',
      'a validation dataset was given but config.eval is not set: Best is chosen by the per-epoch evaluation',
    );
  if (o.config.eval?.trainN !== undefined && o.config.eval.trainN > o.train.size)
    throw new PiatError('bad-config', `config.eval.trainN = ${o.config.eval.trainN} exceeds the training set's ${o.train.size} examples`);
  if (!o.runDir) return trainUnlocked(o);
  const runDir = o.runDir;
  const lock = writing(runDir, 'taking the run lock (run.lock)', () => acquireRunLock(runDir));
  let result: TrainResult;
  try {
    result = await trainUnlocked(o);
  } catch (e) {
    try {
      lock.release();
    } catch {
      // after a failed run the first error is the one to see (a lock left behind is taken over: its process is gone)
    }
    throw e;
  }
  try {
    lock.release();
  } catch (e) {
    throw writeFailure(runDir, 'removing the run lock (run.lock)', e);
  }
  return result;
}

/** What one call of train() works with: its settings, and the state that its steps carry from one to the next. */
interface Session {
  o: TrainOptions;
  c: TrainConfig;
  hooks: TrainerHook[];
  sgd: Sgd;
  rng: Rng;
  /** the model's trainable weights, in the optimizer's order */
  vars: tf.Variable[];
  evalAttack: PgdOptions | null;
  identity: Identity;
  /** sha256 of the identity, recorded in each checkpoint */
  hash: string;
  lrSchedule: LrSchedule;
  records: EpochRecord[];
  best: TrainResult['best'];
  /** epochs completed before this call (a resumed run's checkpoint) */
  startEpoch: number;
}

/**
 * The run in steps: set up, re-open a finished run (recordsOnly), resume or start the folder, the
 * epochs, the end. The optimizer's velocity and the hooks' tensors (PIAT's snapshot, averaged
 * weights) are freed in `finally`, so no path — finished, stopped, NaN loss, interrupt, a failed
 * write — leaves tensors behind.
 */
async function trainUnlocked(o: TrainOptions): Promise<TrainResult> {
  const hooks = o.hooks ?? [];
  const sgd = new Sgd(o.config.optimizer);
  try {
    const s = setUp(o, hooks, sgd);
    if (o.runDir && o.recordsOnly) {
      const finished = finishedRun({ ...o, runDir: o.runDir }, s.identity);
      if (finished) return finished;
    }
    if (o.runDir) await resumeOrStart(s, o.runDir);
    const show = progressFrom(o, s.startEpoch, s.records);
    const stopped = await trainEpochs(s, show);
    finish(s, show, stopped);
    return { records: s.records, best: s.best, stopped, runDir: o.runDir };
  } finally {
    sgd.dispose();
    hooks.forEach((h) => h.dispose?.());
  }
}

/**
 * The session's fixed parts. The identity is taken here, before any checkpoint is loaded, because
 * it includes the model's initial weights.
 */
function setUp(o: TrainOptions, hooks: TrainerHook[], sgd: Sgd): Session {
  const { model, objective, config: c } = o;
  const evalAttack = c.eval?.attack === undefined ? PAPER_EVAL_ATTACK : c.eval.attack;
  const identity = o.runDir
    ? runIdentity({
        config: c,
        evalAttack,
        objective,
        hooks,
        model,
        train: o.train,
        test: o.test,
        validation: o.validation,
        backend: computeIdentity(),
        extra: o.identity,
      })
    : {};
  return {
    o,
    c,
    hooks,
    sgd,
    rng: new Rng(c.seed),
    vars: model.trainableWeights.map((w) => w.read() as tf.Variable),
    evalAttack,
    identity,
    hash: sha256(JSON.stringify(identity)),
    lrSchedule: c.lrSchedule ?? { kind: 'constant' },
    records: [],
    best: null,
    startEpoch: 0,
  };
}

/** Continues from the folder's newest good checkpoint when it has one (same run, checked), else starts it afresh. */
async function resumeOrStart(s: Session, runDir: string): Promise<void> {
  const { o } = s;
  writing(runDir, 'creating the run folder', () => fs.mkdirSync(runDir, { recursive: true }));
  const cp = await loadCheckpoint(
    runDir,
    o.model,
    (state) => checkSameRun({ ...o, runDir }, state, s.identity),
    s.vars.map((v) => v.shape),
  );
  if (cp) await resumeFrom(s, runDir, cp);
  else await startFresh(s, runDir);
}

/**
 * Puts everything a checkpoint saved back where the next epoch expects it (weights are loaded
 * already): optimizer velocity, RNG, hooks, objective, averaged weights, Best and the records up to
 * its epoch, so that the resumed run reproduces the uninterrupted one exactly.
 */
async function resumeFrom(s: Session, runDir: string, cp: LoadedCheckpoint): Promise<void> {
  const { o, c } = s;
  cp.warnings.forEach((w) => process.stderr.write(`warning: ${w}\n`));
  s.sgd.setState(s.vars, cp.velocity);
  s.rng.setState(cp.state.rngState);
  for (const h of s.hooks) h.restore?.(cp.state.hooks[h.name] ?? {});
  o.objective.restore?.(cp.state.objective ?? {});
  const avgHook = s.hooks.find((h) => h.restoreAveraged);
  if (avgHook && fs.existsSync(path.join(cp.dir, 'averaged', 'model.json'))) {
    const m = await loadModel(path.join(cp.dir, 'averaged'));
    try {
      avgHook.restoreAveraged?.(m.getWeights());
    } finally {
      m.dispose();
    }
  }
  s.best = cp.state.best;
  s.startEpoch = cp.state.epoch;
  s.records = readRecords(runDir, s.startEpoch);
  writing(runDir, 'writing records.jsonl', () => writeRecords(runDir, s.records));
  // resuming from an older checkpoint (the newest was corrupt): the run is not finished until it ends again
  if (s.startEpoch < c.epochs) writing(runDir, 'removing done.json', () => fs.rmSync(path.join(runDir, 'done.json'), { force: true }));
}

/** A new run: clears what an earlier, checkpoint-less attempt left, and records the full configuration in config.json. */
async function startFresh(s: Session, runDir: string): Promise<void> {
  const { o, c, hooks, identity } = s;
  const { model, objective } = o;
  writing(runDir, 'removing the records of an earlier attempt', () => {
    fs.rmSync(path.join(runDir, 'records.jsonl'), { force: true });
    fs.rmSync(path.join(runDir, 'done.json'), { force: true });
  });
  const bk = backendInfo();
  const config = JSON.stringify(
    {
      config: c,
      objective: { name: objective.name, ...objective.config },
      hooks: hooks.map((h) => ({ name: h.name, ...h.config })),
      model: { name: model.name, parameters: model.countParams() },
      identity,
      data: {
        train: o.train.name,
        trainSize: o.train.size,
        test: o.test?.name,
        testSize: o.test?.size,
        ...(o.validation ? { validation: o.validation.name, validationSize: o.validation.size } : {}),
      },
      meta: o.meta ?? {},
      backend: { ...bk, ...(bk.torch ? { path: torchPath() } : {}) },
      environment: environment(),
      startedAt: new Date().toISOString(),
    },
    null,
    2,
  );
  writing(runDir, 'writing config.json', () => writeFileAtomic(path.join(runDir, 'config.json'), config));
  if (c.keepEpochCheckpoints)
    await writing(runDir, 'saving the initial weights (epochs/epoch-000)', () =>
      saveModel(model, path.join(runDir, 'epochs', 'epoch-000')),
    );
}

/**
 * Trains, evaluates, records and saves each remaining epoch in turn; returns true when shouldStop
 * ended the run early (after that epoch was saved).
 */
async function trainEpochs(s: Session, show: RunProgress): Promise<boolean> {
  const { o, c } = s;
  // a notebook's interrupt stops training between batches; the last saved checkpoint stands
  const interrupts = watchInterrupts();
  for (let epoch = s.startEpoch; epoch < c.epochs; epoch++) {
    const trained = await trainEpoch(s, epoch, show, interrupts);
    const evaluated = evaluateEpoch(s, epoch, show);
    const { record, improved } = recordEpoch(s, epoch, trained, evaluated);
    if (o.runDir) {
      try {
        await saveEpoch(s, o.runDir, epoch, improved, evaluated);
      } catch (e) {
        if (e instanceof PiatError && e.code === 'write-failed') show.fail(epoch, trained.batches - 1, 'saving failed');
        throw e;
      }
    }
    o.onEpoch?.(record);
    show.epochEnd(record);
    if (trained.stopRequested) {
      if (o.progress !== false)
        show.note(
          o.runDir
            ? `stopped after epoch ${epoch + 1}: its checkpoint is saved in ${path.join(o.runDir, 'checkpoint')}; run again to resume`
            : `stopped after epoch ${epoch + 1}`,
        );
      return true;
    }
  }
  return false;
}

/** What one epoch's SGD steps give the epoch's record. */
interface TrainedEpoch {
  lr: number;
  /** each loss part's value per batch */
  parts: Record<string, number[]>;
  /** the fields the objective and hooks add to the record (PIAT's β, the averaging count) */
  hookFields: Record<string, number | null>;
  trainSeconds: number;
  batches: number;
  /** shouldStop said yes during the epoch: stop once it is saved */
  stopRequested: boolean;
}

/**
 * One epoch's SGD steps over shuffled batches, with the hooks around them. A non-finite loss
 * throws PiatError('nan-loss'): at the next read of the loss (lazy, the default: within the epoch,
 * before it is saved; see TrainOptions.lossReads), or before the weights change ('every-step').
 * A notebook interrupt throws
 * PiatError('interrupted') between batches; shouldStop only marks the epoch as the last.
 */
async function trainEpoch(s: Session, epoch: number, show: RunProgress, interrupts: InterruptWatch): Promise<TrainedEpoch> {
  const { o, c, hooks, sgd, rng, vars } = s;
  const { model, objective } = o;
  const lr = lrAt(s.lrSchedule, c.optimizer.lr, epoch);
  const t0 = Date.now();
  for (const h of hooks) h.onEpochStart?.({ model, epoch });
  const batches = batchIndices(o.train.size, c.batchSize, rng);
  const parts: Record<string, number[]> = {};
  let stopRequested = false;

  const lazy = o.lossReads !== 'every-step';
  /** the non-finite loss of batch `b`: the run stops here */
  const nanLoss = (b: number, values: Record<string, number>, readAt: number) => {
    show.fail(epoch, b, `loss ${values.total}`);
    return new PiatError(
      'nan-loss',
      `The training loss became ${values.total} at epoch ${epoch + 1}, batch ${b + 1} ` +
        `(${Object.entries(values)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}). ` +
        (lazy
          ? `It was read after batch ${readAt + 1} (the loss is read from the device at most once a second, not after every batch; ` +
            "TrainOptions.lossReads: 'every-step' checks each batch), so the weights in memory are not usable; "
          : 'The weights were not updated; ') +
        savedNote(o.runDir) +
        `Lower the learning rate (now ${lr}) or check the data for NaN or infinite values.`,
    );
  };
  // lazy: the steps whose loss is still on the device, read together (one device sync) by `readPending`
  let pending: { b: number; loss: PendingLoss }[] = [];
  let shownLoss = NaN;
  let lastRead = 0;
  const readPending = (readAt: number) => {
    const steps = pending;
    pending = [];
    lastRead = Date.now();
    let values: Record<string, number>[];
    try {
      values = readLosses(steps.map((p) => p.loss));
    } finally {
      steps.forEach((p) => p.loss.dispose());
    }
    steps.forEach((p, i) => {
      if (!Number.isFinite(values[i].total)) throw nanLoss(p.b, values[i], readAt);
      for (const [k, v] of Object.entries(values[i])) (parts[k] ??= []).push(v);
      shownLoss = values[i].total;
    });
  };

  try {
    for (let b = 0; b < batches.length; b++) {
      if (lazy) {
        let loss: PendingLoss;
        try {
          loss = trainStepLazy(model, objective, sgd, vars, o.train, batches[b], { rng, epoch }, lr, c.microBatchSize);
        } catch (e) {
          // a NaN loss before it is the cause to report (weights turned NaN can make a step fail)
          try {
            readPending(b);
          } catch (nan) {
            if (nan instanceof PiatError && nan.code === 'nan-loss') throw nan;
          }
          throw e;
        }
        pending.push({ b, loss });
        for (const h of hooks) h.onStepEnd?.({ model, epoch });
        // the progress line shows the latest loss read; a GPU drains only at these reads
        if (b === 0 || Date.now() - lastRead >= LOSS_READ_MS) readPending(b);
        show.batch(epoch, b, shownLoss);
      } else {
        const { values } = trainStep(model, objective, sgd, vars, o.train, batches[b], { rng, epoch }, lr, c.microBatchSize);
        for (const h of hooks) h.onStepEnd?.({ model, epoch });
        if (!Number.isFinite(values.total)) throw nanLoss(b, values, b);
        for (const [k, v] of Object.entries(values)) (parts[k] ??= []).push(v);
        show.batch(epoch, b, values.total);
      }
      // let signal handlers (Ctrl-C) and timers run: a few microseconds per batch
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (interrupts.requested()) {
        show.fail(epoch, b, 'interrupted');
        throw new PiatError(
          'interrupted',
          `${runLabel(o)}: interrupted at epoch ${epoch + 1}, batch ${b + 1}. ${savedNote(o.runDir)}${o.runDir ? 'Run the cell again to resume.' : ''}`,
        );
      }
      if (o.shouldStop?.()) stopRequested = true;
    }
    // the epoch's record needs every batch's loss (and a NaN must stop the run before the epoch is saved)
    readPending(batches.length - 1);
  } finally {
    pending.forEach((p) => p.loss.dispose());
  }

  const hookFields: Record<string, number | null> = { ...(objective.onEpochEnd?.(epoch) ?? {}) };
  for (const h of hooks) Object.assign(hookFields, h.onEpochEnd?.({ model, epoch }) ?? {});
  return { lr, parts, hookFields, trainSeconds: (Date.now() - t0) / 1000, batches: batches.length, stopRequested };
}

/** What the epoch's evaluation gives its record (nulls when this epoch is not evaluated). */
interface EvaluatedEpoch {
  cleanAcc: number | null;
  robustAcc: number | null;
  /** trainCleanAcc, trainRobustAcc, valCleanAcc, valRobustAcc, in this order */
  extraAcc: Record<string, number | null>;
  perImage: EpochRecord['perImage'];
  /** a weight-averaging hook's weights (not ours to dispose): what was evaluated, and what Best and averaged/ keep */
  averaged: tf.Tensor[] | null;
  seconds: number;
}

/**
 * Clean and robust accuracy on the test subset (and the training and validation subsets when
 * asked), every `eval.every` epochs and at the last. With weight averaging the averaged weights
 * are evaluated, and the trained ones put back after, whatever happens.
 */
function evaluateEpoch(s: Session, epoch: number, show: RunProgress): EvaluatedEpoch {
  const { o, c } = s;
  const { model } = o;
  const t1 = Date.now();
  let cleanAcc: number | null = null;
  let robustAcc: number | null = null;
  const extraAcc: Record<string, number | null> = {};
  let perImage: EpochRecord['perImage'];
  const averaged = s.hooks.map((h) => h.averagedWeights?.()).find((w) => w) ?? null;
  const evaluateNow = c.eval && o.test && ((epoch + 1) % (c.eval.every ?? 1) === 0 || epoch + 1 === c.epochs);
  if (c.eval && o.test && evaluateNow) {
    show.evaluating(epoch);
    // with weight averaging (SWA/EMA) the averaged weights are what is evaluated and kept as Best
    const raw = averaged ? model.getWeights().map((t) => tf.clone(t)) : null;
    if (averaged) model.setWeights(averaged);
    try {
      // fixed seeds per epoch and split, not drawn from the training stream: evaluation never changes training
      const seed = c.seed * 7919 + epoch;
      const at = (data: ArrayDataset, n: number | undefined, seedOffset: number) =>
        evalSplit(model, data, { n, batchSize: c.eval?.batchSize }, s.evalAttack, seed + seedOffset);
      perImage = {};
      ({ clean: cleanAcc, robust: robustAcc, perImage: perImage.test } = at(o.test, c.eval.n, 0));
      if (c.eval.trainN)
        ({
          clean: extraAcc.trainCleanAcc,
          robust: extraAcc.trainRobustAcc,
          perImage: perImage.train,
        } = at(o.train, c.eval.trainN, 1_000_003));
      if (o.validation)
        ({
          clean: extraAcc.valCleanAcc,
          robust: extraAcc.valRobustAcc,
          perImage: perImage.validation,
        } = at(o.validation, c.eval.validationN, 2_000_003));
    } finally {
      if (raw) {
        model.setWeights(raw);
        tf.dispose(raw);
      }
    }
  }
  return { cleanAcc, robustAcc, extraAcc, perImage, averaged, seconds: (Date.now() - t1) / 1000 };
}

/**
 * The epoch's record (appended to the session's) and whether it is the new Best: the highest
 * robust accuracy on the validation split when there is one, else on the test subset.
 */
function recordEpoch(s: Session, epoch: number, t: TrainedEpoch, ev: EvaluatedEpoch): { record: EpochRecord; improved: boolean } {
  const { o } = s;
  const { cleanAcc, robustAcc, extraAcc, perImage } = ev;
  const record: EpochRecord = {
    epoch: epoch + 1,
    lr: t.lr,
    ...t.hookFields,
    loss: Object.fromEntries(Object.entries(t.parts).map(([k, v]) => [k, mean(v)])),
    cleanAcc,
    robustAcc,
    ...extraAcc,
    trainSeconds: t.trainSeconds,
    evalSeconds: ev.seconds,
    ...(perImage ? { perImage } : {}),
  };
  s.records.push(record);
  const selectedOn = o.validation ? 'validation' : 'test';
  const selectBy = o.validation ? (extraAcc.valRobustAcc ?? null) : robustAcc;
  const improved = selectBy !== null && (!s.best || selectBy > s.best.robustAcc);
  if (improved) s.best = { epoch: epoch + 1, robustAcc: selectBy as number, ...(o.validation ? { selectedOn } : {}) };
  return { record, improved };
}

/**
 * Everything the epoch leaves on disk: Best, the averaged weights, the epoch's own weights when
 * kept, the records, and last the checkpoint, so that a checkpoint never runs ahead of the records
 * it resumes with. A refused write throws PiatError('write-failed'); the previous checkpoint stays.
 */
async function saveEpoch(s: Session, runDir: string, epoch: number, improved: boolean, ev: EvaluatedEpoch): Promise<void> {
  const { o, c, hooks, sgd, rng } = s;
  const { model, objective } = o;
  const { averaged, robustAcc } = ev;
  const n = epoch + 1;
  if (improved)
    await writing(runDir, `saving the Best weights of epoch ${n} (best/)`, () =>
      saveWeightsAs(model, averaged, path.join(runDir, 'best'), { epoch: n, robustAcc }),
    );
  if (averaged)
    await writing(runDir, `saving the averaged weights of epoch ${n} (averaged/)`, () =>
      saveWeightsAs(model, averaged, path.join(runDir, 'averaged'), { epoch: n }),
    );
  const epochDir = `epoch-${String(n).padStart(3, '0')}`;
  if (c.keepEpochCheckpoints)
    await writing(runDir, `saving the weights of epoch ${n} (epochs/${epochDir})`, () =>
      saveModel(model, path.join(runDir, 'epochs', epochDir)),
    );
  writing(runDir, 'writing records.jsonl', () => writeRecords(runDir, s.records));
  await writing(runDir, `saving the checkpoint of epoch ${n}`, () =>
    saveCheckpoint(
      runDir,
      model,
      sgd.getState(),
      {
        epoch: n,
        rngState: rng.getState(),
        hooks: Object.fromEntries(hooks.map((h) => [h.name, h.state?.() ?? {}])),
        objective: objective.state?.() ?? {},
        best: s.best,
        configHash: s.hash,
        identity: s.identity,
      },
      averaged ? (dir) => saveWeightsAs(model, averaged, path.join(dir, 'averaged'), { epoch: n }) : undefined,
    ),
  );
}

/** The summary line, and done.json when every epoch ran (a stopped run is not done: running it again resumes). */
function finish(s: Session, show: RunProgress, stopped: boolean): void {
  const { o, records, best } = s;
  show.finish(records, best, stopped);
  if (!o.runDir || stopped) return;
  const done = JSON.stringify(
    {
      finishedAt: new Date().toISOString(),
      epochs: records.length,
      best,
      seconds: records.reduce((sum, r) => sum + r.trainSeconds + r.evalSeconds, 0),
    },
    null,
    2,
  );
  const runDir = o.runDir;
  writing(runDir, 'writing done.json', () => writeFileAtomic(path.join(runDir, 'done.json'), done));
}

/** Clean and (when there is an attack) robust accuracy on the first n examples of one split, and which of them were correct. */
function evalSplit(
  model: tf.LayersModel,
  data: ArrayDataset,
  ev: { n?: number; batchSize?: number },
  attack: PgdOptions | null,
  seed: number,
): { clean: number; robust: number | null; perImage: SplitPerImage } {
  // one pass per setting gives both the flags and the accuracy (count / n, as accuracy() computes it)
  const clean = correctness(model, data, undefined, ev);
  const robust = attack ? correctness(model, data, (m, x, y) => pgd(m, x, y, { ...attack, seed }), ev) : null;
  return {
    clean: accuracyOf(clean),
    robust: robust && accuracyOf(robust),
    perImage: { clean: toPerImage(clean), robust: robust && toPerImage(robust) },
  };
}

/** What survives a failed epoch, for the NaN-loss message: only a checkpoint that exists is named. */
function savedNote(runDir: string | undefined): string {
  if (!runDir) return '';
  const saved = savedCheckpoint(runDir);
  if (!saved) return `Nothing was saved in ${runDir} yet (this was the first epoch). `;
  return `The checkpoint of epoch ${saved.epoch} (${saved.dir}) is intact. `;
}

/** Saves `weights` (or the model's own when null) in the model's architecture. */
async function saveWeightsAs(
  model: tf.LayersModel,
  weights: tf.Tensor[] | null,
  dir: string,
  meta: Record<string, unknown>,
): Promise<void> {
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
