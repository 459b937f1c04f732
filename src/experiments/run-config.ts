/**
 * A whole training run as JSON, for `piat train --config` and `piat sweep`. Every field is
 * checked; an unknown or ill-typed field is an error that names it (config.objective.lamda: unknown
 * field; did you mean lambda?).
 *
 * {
 *   "dataset": "mnist",                 mnist | fashion-mnist | cifar10 | cifar100 | svhn | two-circles
 *   "dataDir": "…",                      optional: folder of the dataset's files
 *   "trainSize": 2000, "testSize": 500,  optional: first n examples
 *   "model": { "arch": "small-cnn" },   small-cnn | resnet18 | preact-resnet18 | wrn34-10 | mlp (+ hidden)
 *   "objective": { "name": "trades", "beta": 6, "attack": { "eps": 0.3, "alpha": 0.01, "steps": 10 } },
 *   "piat": { "schedule": { "kind": "dynamic" }, "warmupEpochs": 0 },       optional
 *   "averaging": { "kind": "swa", "startEpoch": 5 },                         optional
 *                (or { "kind": "fawa", "validationSize": 1000 }: CFA's averaging, on the training tail)
 *   "train": { "epochs": 10, "batchSize": 128, "seed": 1, "optimizer": { "lr": 0.01 }, … },
 *   "runDir": "runs/my-run"
 * }
 */
import * as tf from '@tensorflow/tfjs';
import { PiatError } from '../util/errors';
import { ArrayDataset } from '../data/dataset';
import { DATASETS, DatasetName, loadDataset } from '../data/images';
import { twoCircles } from '../data/toy';
import { mlp } from '../models/mlp';
import { preActResnet18, resnet18, smallCnn, wrn34_10 } from '../models/resnet';
import { Objective } from '../objectives/types';
import { pgdAt, standard } from '../objectives/pgd-at';
import { alp } from '../objectives/alp';
import { nmse } from '../objectives/nmse';
import { trades } from '../objectives/trades';
import { mart } from '../objectives/mart';
import { mail } from '../objectives/mail';
import { piat } from '../piat/hook';
import { AveragingOptions, WeightAveragingHook } from '../piat/averaging';
import { fawa } from '../piat/fawa';
import { PgdOptions } from '../attacks/pgd';
import { cfa } from '../objectives/cfa';
import { rat } from '../objectives/rat';
import { TrainerHook } from '../train/hooks';
import { TrainConfig, validateTrainConfig } from '../train/trainer';

export interface RunConfig {
  dataset: DatasetName | 'two-circles';
  dataDir?: string;
  trainSize?: number;
  testSize?: number;
  model: { arch: string; hidden?: number[]; seed?: number };
  objective: { name: string; [option: string]: unknown };
  piat?: { schedule?: { kind: 'dynamic' | 'fixed'; [k: string]: unknown }; warmupEpochs?: number } | null;
  averaging?: { kind: 'ema' | 'swa' | 'fawa'; decay?: number; startEpoch?: number; threshold?: number; validationSize?: number } | null;
  train: TrainConfig;
  runDir: string;
}

const TOP_FIELDS = ['dataset', 'dataDir', 'trainSize', 'testSize', 'model', 'objective', 'piat', 'averaging', 'train', 'runDir'];
const ARCHS = ['small-cnn', 'resnet18', 'preact-resnet18', 'wrn34-10', 'mlp'];
const OBJECTIVE_FIELDS: Record<string, string[]> = {
  standard: [],
  'pgd-at': ['attack'],
  alp: ['lambda', 'attack'],
  nmse: ['lambda', 'ce', 'attack'],
  trades: ['beta', 'attack'],
  mart: ['lambda', 'attack'],
  mail: ['base', 'bias', 'slope', 'beta', 'burnInEpochs', 'attack'],
  cfa: ['base', 'ccm', 'ccr', 'lambda1', 'lambda2', 'beta', 'beginEpoch', 'numClasses', 'attack'],
  rat: ['alpha', 'beta', 'weightNoise', 'attack'],
};
const TRAIN_FIELDS = ['epochs', 'batchSize', 'seed', 'optimizer', 'lrSchedule', 'eval', 'keepEpochCheckpoints', 'microBatchSize'];

function bad(field: string, msg: string): never {
  throw new PiatError('bad-config', `config.${field}: ${msg}`);
}

function closest(word: string, options: string[]): string {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length][b.length];
  };
  const best = options.map((o) => [o, dist(word, o)] as const).sort((a, b) => a[1] - b[1])[0];
  return best && best[1] <= 2 ? `; did you mean ${best[0]}?` : `; expected one of: ${options.join(', ')}`;
}

function onlyFields(obj: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) bad(where ? `${where}.${k}` : k, `unknown field${closest(k, allowed)}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks a parsed JSON value and returns it typed; throws PiatError('bad-config') naming the field. */
export function validateRunConfig(raw: unknown): RunConfig {
  if (!isObject(raw)) bad('', 'the config must be a JSON object');
  onlyFields(raw, TOP_FIELDS, '');
  const c = raw as unknown as RunConfig;
  if (!['two-circles', ...DATASETS].includes(c.dataset as string)) bad('dataset', `'${c.dataset}' is not a dataset${closest(String(c.dataset), ['two-circles', ...DATASETS])}`);
  for (const f of ['trainSize', 'testSize'] as const) if (c[f] !== undefined && !(Number.isInteger(c[f]) && (c[f] as number) > 0)) bad(f, 'must be a whole number > 0');
  if (!isObject(c.model)) bad('model', 'missing (e.g. { "arch": "small-cnn" })');
  onlyFields(c.model, ['arch', 'hidden', 'seed'], 'model');
  if (!ARCHS.includes(c.model.arch)) bad('model.arch', `'${c.model.arch}' is not an architecture${closest(String(c.model.arch), ARCHS)}`);
  if (!isObject(c.objective)) bad('objective', 'missing (e.g. { "name": "pgd-at" })');
  const fields = OBJECTIVE_FIELDS[c.objective.name];
  if (!fields) bad('objective.name', `'${c.objective.name}' is not an objective${closest(String(c.objective.name), Object.keys(OBJECTIVE_FIELDS))}`);
  onlyFields(c.objective, ['name', ...fields], 'objective');
  for (const [k, v] of Object.entries(c.objective)) if (['lambda', 'beta', 'bias', 'slope', 'lambda1', 'lambda2', 'alpha', 'weightNoise'].includes(k) && !Number.isFinite(v)) bad(`objective.${k}`, 'must be a number');
  if (c.piat) onlyFields(c.piat, ['schedule', 'warmupEpochs'], 'piat');
  if (c.averaging) {
    onlyFields(c.averaging, ['kind', 'decay', 'startEpoch', 'threshold', 'validationSize'], 'averaging');
    if (!['ema', 'swa', 'fawa'].includes(c.averaging.kind)) bad('averaging.kind', `'${c.averaging.kind}' is not a kind of averaging${closest(String(c.averaging.kind), ['ema', 'swa', 'fawa'])}`);
    if (c.averaging.kind === 'fawa' && !(Number.isInteger(c.averaging.validationSize) && (c.averaging.validationSize as number) > 0)) bad('averaging.validationSize', 'FAWA needs a held-out validation size (a whole number > 0), taken from the end of the training set');
  }
  if (!isObject(c.train)) bad('train', 'missing (e.g. { "epochs": 10, "batchSize": 128, "seed": 1, "optimizer": { "lr": 0.01 } })');
  onlyFields(c.train as unknown as Record<string, unknown>, TRAIN_FIELDS, 'train');
  try {
    validateTrainConfig(c.train);
  } catch (e) {
    if (e instanceof PiatError) throw new PiatError('bad-config', e.message.replace(/^config\./, 'config.train.').replace(/^optimizer\./, 'config.train.optimizer.'));
    throw e;
  }
  if (typeof c.runDir !== 'string' || !c.runDir) bad('runDir', 'must name the folder for checkpoints and records');
  return c;
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
  const seed = c.model.seed ?? c.train.seed;
  const shape = train.inputShape as [number, number, number];
  const opts = { numClasses: train.numClasses, inputShape: shape, seed };
  const model =
    c.model.arch === 'mlp'
      ? mlp({ inputDim: train.featureSize, numClasses: train.numClasses, hidden: c.model.hidden ?? [64], seed })
      : c.model.arch === 'small-cnn'
        ? smallCnn(opts)
        : c.model.arch === 'resnet18'
          ? resnet18(opts)
          : c.model.arch === 'preact-resnet18'
            ? preActResnet18(opts)
            : wrn34_10(opts);
  const { name, ...o } = c.objective;
  const makers: Record<string, (o: never) => Objective> = { standard, 'pgd-at': pgdAt, alp, nmse, trades, mart, mail, cfa, rat };
  const objective = makers[name]((name === 'cfa' ? { numClasses: train.numClasses, ...o } : o) as never);
  const hooks: TrainerHook[] = [];
  if (c.piat) hooks.push(piat(c.piat as never));
  if (c.averaging?.kind === 'fawa') {
    const v = c.averaging.validationSize as number;
    if (v >= train.size) bad('averaging.validationSize', `${v} leaves no training examples (the training set has ${train.size})`);
    const validation = train.slice(train.size - v);
    train = train.take(train.size - v);
    // validated with the objective's own threat model (PGD-10 at its ε, as the authors validate at the training ε)
    hooks.push(fawa({ validation, decay: c.averaging.decay, threshold: c.averaging.threshold, attack: o.attack ? { ...(o.attack as PgdOptions), steps: 10 } : undefined }));
  } else if (c.averaging) hooks.push(new WeightAveragingHook(c.averaging as AveragingOptions));
  return { config: c, model, objective, hooks, train, test };
}

/** `key.path=v1,v2` grid arguments → the cartesian product of overrides, in a stable order. */
export function expandGrid(grid: string[]): Record<string, unknown>[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const g of grid) {
    const eq = g.indexOf('=');
    if (eq <= 0) throw new PiatError('bad-option', `--grid '${g}': expected key.path=v1,v2,…`);
    const key = g.slice(0, eq);
    const vals = g.slice(eq + 1).split(',').map((v) => {
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
