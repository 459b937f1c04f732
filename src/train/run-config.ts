/**
 * A whole training run as JSON, for `piat train --config` and `piat sweep`. Every field is
 * checked; an unknown or ill-typed field is an error that names it (config.objective.lamda: unknown
 * field; did you mean lambda?).
 *
 * {
 *   "dataset": "mnist",                 mnist | fashion-mnist | cifar10 | cifar100 | svhn | two-circles
 *   "dataDir": "…",                      optional: the one folder the dataset's files are read from
 *   "trainSize": 2000, "testSize": 500,  optional: first n examples
 *   "model": { "arch": "small-cnn" },   an architecture of src/models/registry.ts (mlp + hidden, ViTs + patch)
 *   "objective": { "name": "trades", "beta": 6, "attack": { "eps": 0.3, "alpha": 0.01, "steps": 10 } },
 *                                        an objective of src/objectives/registry.ts and its options
 *   "piat": { "schedule": { "kind": "dynamic" }, "warmupEpochs": 0 },       optional
 *   "averaging": { "kind": "swa", "startEpoch": 5 },                         optional
 *                (or { "kind": "fawa", "validationSize": 1000 }: CFA's averaging, on the training tail)
 *   "train": { "epochs": 10, "batchSize": 128, "seed": 1, "optimizer": { "lr": 0.01 }, … },
 *   "runDir": "runs/my-run"
 * }
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { PiatError } from '../util/errors';
import { show, validate } from '../util/schema';
import { runConfigSchema } from './run-config-schema';
import { ArrayDataset } from '../data/dataset';
import { DatasetName, loadDataset } from '../data/images';
import { twoCircles } from '../data/toy';
import { buildModel, modelEntry, ModelOptions } from '../models/registry';
import { Objective } from '../objectives/types';
import { makeObjective } from '../objectives/registry';
import { piat } from '../piat/hook';
import { averagingHook, AveragingSpec } from '../averaging';
import { PgdOptions } from '../attacks/pgd';
import { TrainerHook } from './hooks';
import { train, TrainConfig, TrainResult } from './trainer';

export interface RunConfig {
  dataset: DatasetName | 'two-circles';
  dataDir?: string;
  trainSize?: number;
  testSize?: number;
  /** an architecture of src/models/registry.ts and its options */
  model: { arch: string; seed?: number } & ModelOptions;
  objective: { name: string; [option: string]: unknown };
  piat?: { schedule?: { kind: 'dynamic' | 'fixed'; [k: string]: unknown }; warmupEpochs?: number } | null;
  averaging?: (AveragingSpec & { validationSize?: number }) | null;
  train: TrainConfig;
  runDir: string;
}

function bad(field: string, msg: string): never {
  throw new PiatError('bad-config', `config.${field}: ${msg}`);
}

/**
 * Checks a parsed JSON value against runConfigSchema, every nested object included, and returns it
 * typed; throws PiatError('bad-config') whose message starts with the bad field's path.
 */
export function validateRunConfig(raw: unknown): RunConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new PiatError('bad-config', `config: must be a JSON object, got ${show(raw)}`);
  validate(raw, runConfigSchema, 'config');
  return raw as RunConfig;
}

/**
 * What a run config adds to the trainer's own view of a run (src/train/identity.ts): the data
 * folder and the model as written, and the PIAT and averaging hooks under the config's own names,
 * all with their defaults, so a run folder refuses a resume under another dataset, folder, size,
 * architecture or hook and names the field as the config writes it.
 */
export function runConfigIdentity(c: RunConfig, hooks: TrainerHook[] = []): Record<string, unknown> {
  const piatHook = hooks.find((h) => h.name === 'piat');
  const averaging = hooks.find((h) => ['ema', 'swa', 'fawa'].includes(h.name));
  return {
    dataset: c.dataset,
    dataDir: c.dataDir ? path.resolve(c.dataDir) : null,
    trainSize: c.trainSize ?? null,
    testSize: c.testSize ?? null,
    model: { arch: c.model.arch, ...modelEntry(c.model.arch).identity(c.model), seed: c.model.seed ?? c.train.seed },
    piat: piatHook ? piatHook.config : null,
    averaging: averaging ? { kind: averaging.name, ...averaging.config } : null,
  };
}

export interface BuiltRun {
  model: tf.LayersModel;
  objective: Objective;
  hooks: TrainerHook[];
  train: ArrayDataset;
  test: ArrayDataset;
}

/** Builds the datasets, model, objective and hooks a config describes (validates first). */
export function buildRun(raw: unknown): BuiltRun & { config: RunConfig } {
  const c = validateRunConfig(raw);
  let train: ArrayDataset;
  let test: ArrayDataset;
  if (c.dataset === 'two-circles') {
    train = twoCircles({ perClass: Math.ceil((c.trainSize ?? 1000) / 2), seed: c.train.seed * 101 + 1 });
    test = twoCircles({ perClass: Math.ceil((c.testSize ?? 1000) / 2), seed: c.train.seed * 101 + 2 });
  } else {
    train = loadDataset(c.dataset, 'train', { dir: c.dataDir });
    test = loadDataset(c.dataset, 'test', { dir: c.dataDir });
  }
  if (c.trainSize) train = train.take(c.trainSize);
  if (c.testSize) test = test.take(c.testSize);
  const { arch, seed, ...modelOptions } = c.model;
  const model = buildModel(arch, { numClasses: train.numClasses, inputShape: train.inputShape, seed: seed ?? c.train.seed }, modelOptions);
  const { name, ...o } = c.objective;
  if (o.numClasses !== undefined && o.numClasses !== train.numClasses) {
    model.dispose();
    bad(
      'objective.numClasses',
      `${JSON.stringify(o.numClasses)} does not match the dataset's ${train.numClasses} classes (leave it out: it defaults to the dataset's)`,
    );
  }
  const objective = makeObjective(name, o, { numClasses: train.numClasses });
  const hooks: TrainerHook[] = [];
  if (c.piat) hooks.push(piat(c.piat as never));
  let validation: ArrayDataset | undefined;
  if (c.averaging?.kind === 'fawa') {
    const v = c.averaging.validationSize as number;
    if (v >= train.size) {
      model.dispose();
      bad('averaging.validationSize', `${v} leaves no training examples (the training set has ${train.size})`);
    }
    validation = train.slice(train.size - v);
    train = train.take(train.size - v);
  }
  // FAWA validates with the objective's own threat model (PGD-10 at its ε, as the authors validate at the training ε)
  if (c.averaging)
    hooks.push(averagingHook(c.averaging, { validation, attack: o.attack ? { ...(o.attack as PgdOptions), steps: 10 } : undefined }));
  return { config: c, model, objective, hooks, train, test };
}

/**
 * Trains the run a config describes (resuming its runDir), with the config's data folder and model
 * in the run folder's identity. The model is disposed afterwards unless `keepModel`.
 */
export async function trainFromConfig(
  raw: unknown,
  o: { shouldStop?: () => boolean; progress?: boolean; keepModel?: boolean } = {},
): Promise<TrainResult & { model: tf.LayersModel; config: RunConfig }> {
  const run = buildRun(raw);
  try {
    const r = await train({
      model: run.model,
      objective: run.objective,
      hooks: run.hooks,
      train: run.train,
      test: run.test,
      config: run.config.train,
      runDir: run.config.runDir,
      meta: { runConfig: run.config },
      identity: runConfigIdentity(run.config, run.hooks),
      shouldStop: o.shouldStop,
      progress: o.progress,
    });
    return { ...r, model: run.model, config: run.config };
  } finally {
    if (!o.keepModel) run.model.dispose();
  }
}

/** `key.path=v1,v2` grid arguments → the cartesian product of overrides, in a stable order. */
export function expandGrid(grid: string[]): Record<string, unknown>[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const g of grid) {
    const eq = g.indexOf('=');
    if (eq <= 0) throw new PiatError('bad-option', `--grid '${g}': expected key.path=v1,v2,…`);
    const key = g.slice(0, eq);
    const vals = g
      .slice(eq + 1)
      .split(',')
      .map((v) => {
        try {
          return JSON.parse(v);
        } catch {
          return v;
        }
      });
    combos = combos.flatMap((c) => vals.map((v) => ({ ...c, [key]: v })));
  }
  return combos;
}

/** A copy of `base` with dotted-path overrides applied. */
export function withOverrides<T>(base: T, overrides: Record<string, unknown>): T {
  const out = JSON.parse(JSON.stringify(base));
  for (const [k, v] of Object.entries(overrides)) {
    const parts = k.split('.');
    let o = out;
    for (const p of parts.slice(0, -1)) o = o[p] ??= {};
    o[parts[parts.length - 1]] = v;
  }
  return out;
}

/** Parses `i/n` (0-based shard i of n). */
export function parseShard(s: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m || Number(m[1]) >= Number(m[2])) throw new PiatError('bad-option', `--shard '${s}': expected i/n with 0 <= i < n (e.g. 0/4)`);
  return { index: Number(m[1]), count: Number(m[2]) };
}
