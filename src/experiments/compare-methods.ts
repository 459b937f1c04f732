/**
 * Trains several methods on the same data, model initialisation and seed, one cached run
 * directory each (runs/<experiment>/<profile>/<method>), and returns their per-epoch records.
 * Finished runs are re-used; unfinished ones resume. With PIAT_SWEEP=slurm the pool's runs that are
 * not finished go to Slurm instead (pool-handoff.ts) and the call stops with a message
 * naming the job; other experiments (notebooks 01, 02) train here either way.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset } from '../data/dataset';
import { train, TrainConfig } from '../train/trainer';
import { EpochRecord } from '../train/records';
import { oscillation, OscillationStats } from '../analysis/oscillation';
import { PiatError } from '../util/errors';
import { handOffPoolRuns, isPoolMeta, sweepMode } from './pool-handoff';
import type { MethodSpec } from './methods';

export interface MethodRun {
  method: string;
  records: EpochRecord[];
  runDir: string;
  oscillation: OscillationStats;
}

export async function compareMethods(o: {
  methods: MethodSpec[];
  model: () => tf.LayersModel;
  train: ArrayDataset;
  test: ArrayDataset;
  /** held-out examples on which each run picks its Best epoch (see TrainOptions.validation) */
  validation?: ArrayDataset;
  config: TrainConfig;
  root: string;
  meta?: Record<string, unknown>;
  progress?: boolean;
  /** stop each run once this many epochs are saved (the run stays resumable; `results --verify` re-trains a run's first epochs) */
  stopAfterEpochs?: number;
}): Promise<MethodRun[]> {
  if (sweepMode() === 'slurm' && isPoolMeta(o.meta)) {
    handOffPoolRuns({
      root: o.root,
      meta: o.meta,
      runs: o.methods.map((m) => ({ label: m.name, runDir: path.join(o.root, runDirName(m.name)) })),
    });
  }
  const runs: MethodRun[] = [];
  for (const m of o.methods) {
    const model = o.model();
    const runDir = path.join(o.root, runDirName(m.name));
    const hold = m.holdOut ?? 0;
    if (hold >= o.train.size)
      throw new PiatError(
        'bad-config',
        `${m.name}: holding out ${hold} validation examples leaves none of the ${o.train.size} for training`,
      );
    const trainSet = hold ? o.train.take(o.train.size - hold) : o.train;
    const validation = hold ? o.train.slice(o.train.size - hold) : undefined;
    const r = await train({
      model,
      objective: m.objective(),
      hooks: m.hooks?.({ validation }) ?? [],
      train: trainSet,
      test: o.test,
      validation: o.validation,
      runDir,
      meta: { ...o.meta, method: m.name },
      progress: o.progress,
      config: o.config,
      recordsOnly: true,
      ...stopAfter(o.stopAfterEpochs),
    });
    model.dispose();
    runs.push({ method: m.name, records: r.records, runDir, oscillation: oscillation(r.records.map((x) => x.robustAcc ?? 0)) });
  }
  return runs;
}

/** train()'s options that stop a run once `epochs` epochs of this call are saved (none when undefined). */
function stopAfter(epochs: number | undefined): { shouldStop?: () => boolean; onEpoch?: () => void } {
  if (epochs === undefined) return {};
  if (!Number.isInteger(epochs) || epochs < 1)
    throw new PiatError('bad-option', `stopAfterEpochs must be a positive integer, got ${epochs}`);
  let saved = 0;
  // shouldStop is asked during an epoch: during the last one wanted, stop once it is saved
  return { shouldStop: () => saved + 1 >= epochs, onEpoch: () => void saved++ };
}

/** A method's run folder name: "PIAT+NMSE λ=2" → piat-nmse-lambda-2. */
export function runDirName(method: string): string {
  return method
    .replace(/λ/g, 'lambda')
    .replace(/β/g, 'beta')
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/\.(?!\d)/g, '');
}

/** Per-epoch rows {method, epoch, metric, accuracy} for curve charts. */
export function accuracyCurves(
  runs: MethodRun[],
  robustLabel: string,
): { method: string; epoch: number; metric: string; accuracy: number }[] {
  return runs.flatMap((r) =>
    r.records.flatMap((e) => [
      { method: r.method, epoch: e.epoch, metric: 'clean', accuracy: e.cleanAcc ?? NaN },
      { method: r.method, epoch: e.epoch, metric: robustLabel, accuracy: e.robustAcc ?? NaN },
    ]),
  );
}
