/**
 * The shared pool of training runs behind the paper's tables and figures (notebooks 03–10).
 * A method trained at a profile on a dataset and architecture is trained once, in
 * runs/pool/<profile>/<dataset>-<arch>/<method>/, and re-used by every notebook that needs it
 * (Table I, Table III and Fig. 6 all need PIAT+NMSE, for instance). Finished runs are re-used,
 * unfinished ones resume; the final evaluation of each run's Best and Final weights is cached
 * beside it (eval-*.json), keyed by the evaluation settings and the weights' checksum.
 *
 * Profiles: smoke (CI, about a minute a notebook), quick (Fashion-MNIST from Debian and a small
 * CNN at ε = 0.1, sized for a 2-core CPU), overfit (the same data, TRADES' CNN, trained long enough for
 * robust overfitting, six seeds, Best chosen on held-out training images), paper (the paper's
 * CIFAR-10/100 and SVHN settings).
 *
 * Seeds: a profile with several seeds keeps each seed's runs in <dataset>-<arch>/seed-<s>/<method>/.
 * PIAT_SWEEP=workers trains a notebook's missing runs, every seed's at once, in parallel processes
 * (src/sweep/workers.ts); PIAT_SWEEP=slurm hands them to Slurm.
 */
import * as fs from 'fs';
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import { ArrayDataset, Augmentation } from '../data/dataset';
import { DatasetName, loadDataset, OFFICIAL_TEST_SIZE } from '../data/images';
import { ArchOf, buildModel, isArchOf } from '../models/registry';
import { findPretrained, loadTorchStateDict, PRETRAINED, pretrainedDir } from '../models/pytorch';
import { TrainingSetup, trainConfigOf } from './setup';
import { paperLinearDecay } from '../train/lr';
import { FMNIST_EPS, PAPER_EVAL_ATTACK, PAPER_THREAT, PAPER_TRAIN_ATTACK } from '../settings';
import { DEFAULT_ATTACKS } from '../eval/evaluate';
import { loadModel } from '../train/model-io';
import { EvalOptions, evaluate, EvalRow } from '../eval/evaluate';
import { allHavePerImage } from '../eval/per-image';
import { readJson, sha256, writeFileAtomic } from '../util/fsx';
import { evalSettingsKey } from '../eval/compare-runs';
import { PiatError } from '../util/errors';
import { formatSeconds, Progress } from '../util/progress';
import { PROJECT_ROOT, Profile, runRoot, runsBase } from './profiles';
import { compareMethods, MethodRun, runDirName } from './compare-methods';
import type { SeededRuns } from './curve-stats';
import { MethodContext, methodLabel, methodSpec, MethodVariant } from './methods';
import { sweepMode } from './pool-handoff';
import { trainInWorkers, WorkerRun } from '../sweep/workers';
import type { PoolJob } from '../sweep/folder';

/** The pool trains image networks: the convolutional networks and ViTs of the model registry. */
export type PoolArch = ArchOf<'conv' | 'vit'>;
/** ViTs of Table IV (fine-tuned from user-placed ImageNet weights at the paper profile) and the tiny one of the small profiles. */
export type ViTArch = ArchOf<'vit'>;
export const isVit = (a: PoolArch | undefined): a is ViTArch => isArchOf('vit', a);

/** Every pool's final evaluation: evaluate()'s default attacks and AutoAttack (Table I's four columns). */
const FINAL_ATTACKS = [...DEFAULT_ATTACKS, 'aa'];

export interface FinalEvalConfig {
  /** test examples evaluated (the first n) */
  n: number;
  /** attack names for evaluate(): clean, pgd20, cw20, aa, … */
  attacks: string[];
  eps: number;
  alpha: number;
  /** AutoAttack settings when not the standard version (smoke) */
  aa?: EvalOptions['aa'];
}

export interface PoolConfig extends TrainingSetup {
  dataset: DatasetName;
  arch: PoolArch;
  /** small CNN widths */
  widths?: [number, number, number];
  /** cnn-fc: its fully connected head's width (default 200) */
  fcWidth?: number;
  cfaBeginEpoch: number;
  cfaValidation: number;
  /** ViTs: patch size (A&P's PRM masks whole patches) and the epochs over which A&P's drop rate ramps up */
  patch?: number;
  apRampEpochs?: number;
  final: FinalEvalConfig;
  /** seeds the tables average over (default [seed]); each seed is a separate run of every method */
  seeds?: number[];
  /**
   * training images held out from the END of the training set (never trained on) on which Best is
   * chosen, so the test images that report Best did not select it; 0/absent: Best is chosen on the
   * per-epoch test subset (labelled so in the notebooks)
   */
  validationSize?: number;
  /** first n training images evaluated each epoch (clean + the evaluation attack), for the train/test robustness gap */
  trainEvalSize?: number;
  /** evaluate every n epochs (and after the last) instead of every epoch */
  evalEvery?: number;
  /** training augmentation instead of the dataset's default (crop 4 for the digits); {} = none */
  augmentation?: Augmentation;
  /**
   * ViTs: fine-tune from the ImageNet-pretrained timm weights at <PIAT_PRETRAINED or datasets/pretrained>/<arch>.safetensors
   * (their own input normalisation inside the model, a new head for the dataset's classes), as the paper's Table IV
   */
  pretrained?: boolean;
}

function embedded(profile: 'smoke' | 'quick' | 'overfit', dataset: DatasetName): PoolConfig {
  if (profile === 'overfit') return overfit(dataset);
  const eps = FMNIST_EPS;
  if (profile === 'smoke') {
    return {
      dataset,
      arch: 'small-cnn',
      widths: [8, 16, 32],
      trainSize: 256,
      testSize: 64,
      epochs: 2,
      batchSize: 64,
      lr: 0.05,
      weightDecay: 5e-4,
      lrSchedule: { kind: 'constant' },
      attack: { eps, alpha: eps / 2, steps: 3 },
      evalAttack: { eps, alpha: eps / 4, steps: 5 },
      seed: 1,
      cfaBeginEpoch: 1,
      cfaValidation: 64,
      // a reduced AutoAttack (APGD-CE and APGD-T, 10 iterations, 3 targets), labelled as such in the notebooks
      final: {
        n: 32,
        attacks: FINAL_ATTACKS,
        eps,
        alpha: eps / 4,
        aa: { version: 'custom', attacks: ['apgd-ce', 'apgd-t'], apgdSteps: 10, targets: 3 },
      },
    };
  }
  return {
    dataset,
    arch: 'small-cnn',
    widths: [8, 16, 32],
    trainSize: 1200,
    testSize: 200,
    validationSize: 200,
    trainEvalSize: 200,
    epochs: 8,
    batchSize: 50,
    lr: 0.05,
    weightDecay: 5e-4,
    lrSchedule: { kind: 'piecewise', milestones: [6] },
    attack: { eps, alpha: eps / 2.5, steps: 5 },
    evalAttack: { eps, alpha: eps / 4, steps: 10 },
    seed: 1,
    cfaBeginEpoch: 1,
    cfaValidation: 200,
    final: {
      n: 100,
      attacks: FINAL_ATTACKS,
      eps,
      alpha: eps / 4,
      aa: { version: 'custom', attacks: ['apgd-ce', 'apgd-t'] },
    },
  };
}

/**
 * The overfit profile: PGD-AT on 500 Fashion-MNIST images without augmentation, TRADES' small CNN
 * with batch norm and a fully connected head (`cnn-fc`, 0.3 M parameters), batch 50, 120 epochs
 * (1200 SGD steps), LR 0.05 divided by 10 at epoch 30 (Rice et al.'s shape of robust overfitting:
 * an early decay and a long run at the small LR after it), evaluated every tenth epoch on 1000 test
 * images, Best chosen on 500 held-out training images, six seeds. It is the search's setting
 * cnnfc-n500-b50-e120-step30-val500 (notebook 11; docs/notebooks.md, "The overfit profile and its
 * search"), where the paired premise test holds: PGD-AT's Best beats its Final on the same test
 * images over six seeds (docs/results.md). Until 2026-12-06 (commit 4015439) the profile used the
 * paper's linear LR shape, whose fall the search could not show to be real.
 */
function overfit(dataset: DatasetName): PoolConfig {
  const eps = FMNIST_EPS;
  const epochs = 120;
  return {
    dataset,
    arch: 'cnn-fc',
    trainSize: 500,
    augmentation: {},
    testSize: 1000,
    validationSize: 500,
    trainEvalSize: 500,
    evalEvery: 10,
    epochs,
    batchSize: 50,
    lr: 0.05,
    weightDecay: 5e-4,
    lrSchedule: { kind: 'piecewise', milestones: [30] },
    attack: { eps, alpha: (2.5 * eps) / 5, steps: 5 },
    evalAttack: { eps, alpha: eps / 4, steps: 10 },
    seed: 1,
    seeds: [1, 2, 3, 4, 5, 6],
    cfaBeginEpoch: 15,
    cfaValidation: 100,
    final: {
      n: 1000,
      attacks: FINAL_ATTACKS,
      eps,
      alpha: eps / 4,
      aa: { version: 'custom', attacks: ['apgd-ce', 'apgd-t'], apgdSteps: 20, targets: 3 },
    },
  };
}

/**
 * The paper's settings: ResNet-18 120 epochs (LR 0.01), WRN-32-10 180 epochs (LR 0.1), the LR
 * constant for half the run and then linear to ÷10 at three quarters and ÷100 at the end, as the
 * paper's text reads (the step reading, ÷10 at 60 and 90, is `paperStepDecay` in train/lr.ts).
 */
function paper(dataset: DatasetName, arch: PoolArch): PoolConfig {
  const wrn = arch === 'wrn34-10';
  return {
    dataset,
    arch,
    testSize: 1000,
    epochs: wrn ? 180 : 120,
    batchSize: 128,
    lr: wrn ? 0.1 : 0.01,
    weightDecay: wrn ? 2e-4 : 5e-4,
    lrSchedule: paperLinearDecay(wrn ? 180 : 120),
    attack: { eps: PAPER_TRAIN_ATTACK.eps, alpha: PAPER_TRAIN_ATTACK.alpha, steps: PAPER_TRAIN_ATTACK.steps },
    evalAttack: { eps: PAPER_EVAL_ATTACK.eps, alpha: PAPER_EVAL_ATTACK.alpha, steps: PAPER_EVAL_ATTACK.steps },
    microBatchSize: wrn ? 16 : 32,
    seed: 1,
    cfaBeginEpoch: 10,
    cfaValidation: 1000,
    // trained on every training image but the last 1000, held out to choose Best; Best and Final are
    // reported on the whole official test set (SVHN: 26,032 images); 1000 training images are
    // evaluated each epoch for Fig. 1's train/test robustness gap
    validationSize: 1000,
    trainEvalSize: 1000,
    final: { n: OFFICIAL_TEST_SIZE[dataset], attacks: FINAL_ATTACKS, ...PAPER_THREAT },
  };
}

/** The pool's settings for a profile; smoke and quick use the embedded Fashion-MNIST unless told otherwise. */
export function poolConfig(profile: Profile, o: { dataset?: DatasetName; arch?: PoolArch } = {}): PoolConfig {
  if (profile === 'overfit' && isVit(o.arch)) return vitVariant('quick', embedded('quick', o.dataset ?? 'fashion-mnist'));
  if (profile === 'paper') {
    const c = paper(o.dataset ?? 'cifar10', o.arch ?? 'resnet18');
    // Table IV's setting (A&P): 40 epochs, LR 0.1 ÷10 at 36 and 38, weight decay 1e-4, patch 4 at 32×32
    return isVit(o.arch)
      ? {
          ...c,
          epochs: 40,
          lr: 0.1,
          weightDecay: 1e-4,
          lrSchedule: { kind: 'piecewise', milestones: [36, 38] },
          batchSize: 64,
          microBatchSize: 16,
          patch: 4,
          apRampEpochs: 10,
          // fine-tuned from ImageNet-1K weights, as the paper (the tiny stand-in has none)
          pretrained: o.arch !== 'vit-tiny',
        }
      : c;
  }
  const c = embedded(profile, o.dataset ?? 'fashion-mnist');
  return isVit(o.arch) ? vitVariant(profile, c) : c;
}

function vitVariant(profile: Profile, c: PoolConfig): PoolConfig {
  // a 2-block ViT with 7×7 patches (16 tokens on 28×28) stands in for the paper's ViTs; its steps
  // cost several times a small CNN's, so at quick it trains with a 3-step attack (step ε/2) to keep
  // notebook 05 near the quick profile's 20 minutes
  const attack = profile === 'quick' ? { ...c.attack, steps: 3, alpha: c.attack.eps / 2 } : c.attack;
  return { ...c, arch: 'vit-tiny', patch: 7, apRampEpochs: Math.max(1, Math.round(c.epochs / 4)), attack };
}

/** The datasets a table uses at a profile: the paper's three at `paper`, the embedded Fashion-MNIST otherwise. */
export function tableDatasets(profile: Profile, paperSets: DatasetName[]): DatasetName[] {
  return profile === 'paper' ? paperSets : ['fashion-mnist'];
}

export interface PoolData {
  train: ArrayDataset;
  test: ArrayDataset;
  /** held-out training images that choose Best (validationSize > 0) */
  validation?: ArrayDataset;
}

/** Which training-set indices train and which choose Best: [0, trainSize) and the last validationSize. */
export function poolSplits(
  c: Pick<PoolConfig, 'trainSize' | 'validationSize'>,
  trainSetSize: number,
): { train: [number, number]; validation: [number, number] | null } {
  const v = c.validationSize ?? 0;
  const n = c.trainSize ?? trainSetSize - v;
  if (v < 0 || !Number.isInteger(v)) throw new PiatError('bad-config', `validationSize must be a non-negative integer, got ${v}`);
  if (n + v > trainSetSize)
    throw new PiatError(
      'bad-config',
      `${n} training images plus ${v} held out for choosing Best exceed the training set's ${trainSetSize} images`,
    );
  return { train: [0, n], validation: v ? [trainSetSize - v, trainSetSize] : null };
}

export function poolData(c: PoolConfig): PoolData {
  const full = loadDataset(c.dataset, 'train');
  const split = poolSplits(c, full.size);
  let train = full.slice(...split.train);
  if (c.augmentation) train = train.withAugmentation(c.augmentation);
  const validation = split.validation ? full.slice(...split.validation) : undefined;
  return { train, test: loadDataset(c.dataset, 'test'), ...(validation ? { validation } : {}) };
}

/** The seeds a pool config runs (its seed list, or its one seed). */
export function poolSeeds(c: PoolConfig): number[] {
  return c.seeds?.length ? c.seeds : [c.seed];
}

/**
 * The seeds a notebook trains and reports: the config's, or the subset PIAT_SEEDS names (e.g.
 * `PIAT_SEEDS=1` for a first look while the other seeds train; the runs stay in the same folders).
 */
export function reportedSeeds(c: PoolConfig, env: NodeJS.ProcessEnv = process.env): number[] {
  const all = poolSeeds(c);
  const raw = env.PIAT_SEEDS?.trim();
  if (!raw) return all;
  const picked = raw.split(',').map((x) => Number(x.trim()));
  const bad = picked.filter((x) => !all.includes(x));
  if (bad.length || !picked.length)
    throw new PiatError('bad-option', `PIAT_SEEDS=${raw}: each must be one of this profile's seeds (${all.join(', ')})`);
  return [...new Set(picked)];
}

export interface PoolMethod {
  name: string;
  variant?: MethodVariant;
}

/** The method context a pool config trains its methods in (trainPool's): the training attack, epochs, CFA's and A&P's settings. */
export function poolMethodContext(c: PoolConfig, numClasses: number): MethodContext {
  return {
    attack: c.attack,
    numClasses,
    epochs: c.epochs,
    cfaBeginEpoch: c.cfaBeginEpoch,
    cfaValidation: c.cfaValidation,
    apPatch: c.patch,
    apRampEpochs: c.apRampEpochs,
  };
}

/** Trains (or re-uses) each method in the pool and returns its per-epoch records. */
export async function trainPool(
  profile: Profile,
  c: PoolConfig,
  methods: (string | PoolMethod)[],
  o: { progress?: boolean; data?: PoolData; root?: string; stopAfterEpochs?: number } = {},
): Promise<MethodRun[]> {
  const data = o.data ?? poolData(c);
  const numClasses = data.train.numClasses;
  const trainConfig = trainConfigOf(c);
  if (c.trainEvalSize) trainConfig.eval = { ...(trainConfig.eval as NonNullable<typeof trainConfig.eval>), trainN: c.trainEvalSize };
  if (c.evalEvery && c.evalEvery > 1)
    trainConfig.eval = { ...(trainConfig.eval as NonNullable<typeof trainConfig.eval>), every: c.evalEvery };
  // `root`: runs outside the pool (the overfitting search), whose settings differ from the profile's
  const root = o.root ?? poolRoot(profile, c);
  const ctx = poolMethodContext(c, numClasses);
  const specs = methods.map((m) => (typeof m === 'string' ? methodSpec(m, ctx) : methodSpec(m.name, ctx, m.variant)));
  return compareMethods({
    methods: specs,
    model: poolModel(c, numClasses, data.train.inputShape),
    train: data.train,
    test: data.test.take(c.testSize),
    validation: data.validation,
    root,
    meta: { experiment: 'pool', profile, pool: c },
    progress: o.progress,
    config: trainConfig,
    stopAfterEpochs: o.stopAfterEpochs,
  });
}

/**
 * The pool's network for the data: the config's architecture and options, and, when it fine-tunes,
 * the pretrained weights under a new head. The file is looked up once, before any model is built.
 */
export function poolModel(c: PoolConfig, numClasses: number, inputShape: number[]): () => tf.LayersModel {
  const pretrained = c.pretrained ? pretrainedFile(c.arch) : undefined;
  return () => {
    const m = buildModel(
      c.arch,
      { numClasses, inputShape, seed: c.seed },
      { widths: c.widths, patch: c.patch, fcWidth: c.fcWidth, normalisation: pretrained ? PRETRAINED[c.arch]?.normalisation : undefined },
    );
    // the classifier head is the model's own: the pretrained one has ImageNet's 1000 classes
    if (pretrained) loadTorchStateDict(m, pretrained, { arch: c.arch, skipLayers: ['head'] });
    return m;
  };
}

/** The pretrained weight file of a ViT of Table IV; a missing one stops with the file, the folder and how to get it. */
export function pretrainedFile(arch: string): string {
  return findPretrained(arch, pretrainedDir(PROJECT_ROOT));
}

/** A pool's folder at a profile, every seed's: runs/pool/<profile>/<dataset>-<arch>. */
export function poolFolder(profile: Profile, c: PoolConfig): string {
  return path.join(runRoot('pool', profile), `${c.dataset}-${c.arch}`);
}

/** The folder of a pool's runs of one seed: the pool's folder, or its seed-<s>/ when the profile has several seeds. */
export function poolRoot(profile: Profile, c: PoolConfig): string {
  return path.join(poolFolder(profile, c), ...(poolSeeds(c).length > 1 ? [`seed-${c.seed}`] : []));
}

/**
 * One `pool-task` job per seed and method: its run folder here and the job that trains it exactly as
 * trainPool() would, under `runsBase` (this machine's runs folder, or another machine's).
 */
export function poolJobs(
  profile: Profile,
  c: PoolConfig,
  methods: (string | PoolMethod)[],
  o: { seeds: number[]; runsBase: string; evaluate?: boolean },
): WorkerRun[] {
  return o.seeds.flatMap((seed) =>
    methods.map((m) => {
      const method = typeof m === 'string' ? { name: m } : m;
      const label = methodLabel(method.name, method.variant);
      const pool = { ...c, seed };
      return {
        label: `${label} · seed ${seed}`,
        runDir: path.join(poolRoot(profile, pool), runDirName(label)),
        job: {
          kind: 'pool' as const,
          profile,
          pool: pool as unknown as Record<string, unknown>,
          method,
          runsBase: o.runsBase,
          ...(o.evaluate ? { evaluate: true } : {}),
        },
      };
    }),
  );
}

/**
 * Trains a pool job (a Slurm task's or a worker process's: `piat sweep-task`, `piat pool-task`)
 * exactly as the notebook's trainPool() would, under the notebook's runs folder; returns its folder.
 */
export async function trainPoolJob(job: PoolJob): Promise<string> {
  process.env.PIAT_RUNS = job.runsBase;
  // the job trains here: a PIAT_SWEEP inherited from the notebook must not hand it off again
  process.env.PIAT_SWEEP = 'local';
  const c = job.pool as unknown as PoolConfig;
  const data = poolData(c);
  const [run] = await trainPool(job.profile as Profile, c, [job.method as PoolMethod], { data });
  if (job.evaluate) await evaluateRun(run, data.test, c.final);
  return run.runDir;
}

/** PIAT_SWEEP=workers: every seed's unfinished runs train at once in parallel processes. */
async function trainSeedsInWorkers(
  profile: Profile,
  c: PoolConfig,
  methods: (string | PoolMethod)[],
  o: { progress?: boolean; evaluate?: boolean },
): Promise<void> {
  const runs = poolJobs(profile, c, methods, { seeds: reportedSeeds(c), runsBase: runsBase(), evaluate: o.evaluate });
  await trainInWorkers(runs, { dir: path.join(poolFolder(profile, c), 'workers'), progress: o.progress });
}

/**
 * trainPool for every seed of the config (its seed list, or its one seed; PIAT_SEEDS: a subset), on the same data.
 * `evaluate`: the caller will evaluate every run's Best and Final weights (workers then do it too).
 */
export async function trainPoolSeeds(
  profile: Profile,
  c: PoolConfig,
  methods: (string | PoolMethod)[],
  o: { progress?: boolean; data?: PoolData; evaluate?: boolean } = {},
): Promise<SeededRuns[]> {
  if (sweepMode() === 'workers') await trainSeedsInWorkers(profile, c, methods, o);
  const data = o.data ?? poolData(c);
  const out: SeededRuns[] = [];
  for (const seed of reportedSeeds(c))
    out.push({ seed, runs: await trainPool(profile, { ...c, seed }, methods, { progress: o.progress, data }) });
  return out;
}

/** The weights a run keeps as Final: the averaged ones when the run averages (SWA, EMA, FAWA), else the last epoch's. */
export function finalWeightsDir(runDir: string): string {
  const averaged = path.join(runDir, 'averaged');
  return fs.existsSync(path.join(averaged, 'model.json')) ? averaged : path.join(runDir, 'checkpoint');
}

export interface CheckpointEval {
  method: string;
  which: 'best' | 'final';
  /** one row per attack, each with its per-image correctness (`perImage`) unless cached before it was kept */
  rows: EvalRow[];
}

/**
 * Whether every row of a checkpoint's evaluation says which images it got right, so that it can be
 * paired image by image with another. An evaluation cached before per-image results were kept has
 * none: it still loads, with its accuracies, and is not re-evaluated.
 */
export function hasPerImage(e: Pick<CheckpointEval, 'rows'>): boolean {
  return allHavePerImage(e.rows);
}

/** A cache file key for results computed from saved weights: the settings' and the weights' checksums. */
export function weightsCacheKey(settings: unknown, weightsDir: string): string {
  return evalSettingsKey(settings) + '-' + sha256(fs.readFileSync(path.join(weightsDir, 'weights.bin'))).slice(0, 12);
}

/**
 * Evaluates a run's Best and Final weights with the final attacks (cached per settings and weights
 * in eval-<which>-<key>.json, rows with their per-image correctness; an older cache file without it
 * is used as it is: see hasPerImage).
 */
export async function evaluateRun(
  run: MethodRun,
  test: ArrayDataset,
  f: FinalEvalConfig,
  o: { progress?: boolean } = {},
): Promise<CheckpointEval[]> {
  const out: CheckpointEval[] = [];
  for (const which of ['best', 'final'] as const) {
    const dir = which === 'best' ? path.join(run.runDir, 'best') : finalWeightsDir(run.runDir);
    if (!fs.existsSync(path.join(dir, 'model.json')))
      throw new PiatError(
        'missing-file',
        `${run.method}: no ${which} weights in ${dir}; has the run finished at least one evaluated epoch?`,
      );
    const key = weightsCacheKey(f, dir);
    const cache = path.join(run.runDir, `eval-${which}-${key}.json`);
    // Best and Final are often the same weights (the last epoch was the best): evaluate them once
    const cached = [cache, path.join(run.runDir, `eval-${which === 'best' ? 'final' : 'best'}-${key}.json`)].find((p) => fs.existsSync(p));
    if (cached) {
      const rows = readJson<EvalRow[]>(cached);
      // the other checkpoint's evaluation of the same weights: kept under this one's name too, so each has its file
      if (cached !== cache) writeFileAtomic(cache, JSON.stringify(rows, null, 2));
      out.push({ method: run.method, which, rows });
      continue;
    }
    // one line per checkpoint: the evaluation's own progress (and AutoAttack's) nests in it
    const line = new Progress({
      label: `${run.method} · ${which} weights`,
      total: 1,
      keepOpen: true,
      counts: false,
      enabled: o.progress !== false,
    });
    const model = await loadModel(dir);
    const aaStatePath = cache.replace(/\.json$/, '.aa-state.json');
    let rows: EvalRow[];
    try {
      rows = evaluate(model, test, { attacks: f.attacks, eps: f.eps, alpha: f.alpha, n: f.n, aa: f.aa, aaStatePath, progress: o.progress });
    } catch (e) {
      line.finish(`${run.method} · ${which} weights · evaluation failed`);
      throw e;
    } finally {
      model.dispose();
    }
    line.finish(
      `${run.method} · ${which} weights · ${rows.map((r) => `${r.attack} ${(100 * r.accuracy).toFixed(1)}%`).join(' · ')} (${f.n} test images, ${formatSeconds(rows.reduce((s, r) => s + r.seconds, 0))})`,
    );
    writeFileAtomic(cache, JSON.stringify(rows, null, 2));
    fs.rmSync(aaStatePath, { force: true });
    out.push({ method: run.method, which, rows });
  }
  return out;
}

/** A human label for the final evaluation's AutoAttack (the reduced smoke version says so). */
export function aaLabel(f: FinalEvalConfig): string {
  if (!f.aa || f.aa.version === undefined || f.aa.version === 'standard') return 'AA (standard)';
  const parts = [f.aa.attacks?.join(' + ') ?? f.aa.version];
  if (f.aa.apgdSteps) parts.push(`${f.aa.apgdSteps} iterations`);
  if (f.aa.targets) parts.push(`${f.aa.targets} targets`);
  return `AA (${parts.join(', ')})`;
}

/**
 * Markdown for a notebook's first cell when a dataset the profile needs is missing (empty when all
 * are there): the loader's own message names the file, where it looked and how to fetch it.
 */
export function missingDataNotice(profile: Profile, datasets: DatasetName[]): string {
  const missing: string[] = [];
  for (const d of datasets) {
    try {
      loadDataset(d, 'test');
    } catch (e) {
      missing.push(`- **${d}**: ${(e as Error).message}`);
    }
  }
  if (!missing.length) return '';
  return [
    `**Data missing for the \`${profile}\` profile** — the cells below will stop at the first missing file:`,
    ...missing,
    '',
    'Fetch the data (see docs/datasets.md), or run this notebook at the `quick` or `smoke` profile, which use the embedded Fashion-MNIST (`PIAT_PROFILE=quick`).',
  ].join('\n');
}
