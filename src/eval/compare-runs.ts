/**
 * Paired comparisons of run folders from the per-image results they keep: each evaluated epoch's
 * (records.jsonl) and each final evaluation's (eval-best-*.json, eval-final-*.json). A side is one or
 * more run folders, one per seed (the seed is read from the folder's config.json); the two sides are
 * paired by image, and by seed where they ran the same seeds (stats/paired.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { EpochRecord, readRecordsFile } from '../train/records';
import { EvalRow } from './evaluate';
import { perImageFlags } from './per-image';
import { pairedDifference, PairedDifference, PairedOptions, SeedsByImage } from '../stats';
import { readJson, sha256 } from '../util/fsx';
import { PiatError } from '../util/errors';

/** Which weights: the epoch the run kept as Best, or the last evaluated one. */
export type Checkpoint = 'best' | 'final';

export interface RunImagesOptions {
  which: Checkpoint;
  /** per-epoch results: robust (default) or clean accuracy on the test subset */
  metric?: 'robust' | 'clean';
  /** a final-evaluation attack (clean, pgd20, cw20, aa): read from eval-<which>-*.json instead of the per-epoch records */
  attack?: string;
  /** with `attack`: only the evaluations under these settings (evalSettingsKey of the pool's final-evaluation config) */
  settings?: string;
}

/**
 * The evaluated epoch the trainer kept as Best: the first highest robust accuracy on the validation
 * split when the run had one, else on the test subset (index into the evaluated records).
 */
export function selectedBestIndex(records: Pick<EpochRecord, 'robustAcc' | 'valRobustAcc'>[]): {
  index: number;
  on: 'validation' | 'test';
} {
  const onValidation = records.every((e) => typeof e.valRobustAcc === 'number');
  const by = records.map((e) => (onValidation ? (e.valRobustAcc as number) : (e.robustAcc as number)));
  return { index: by.indexOf(Math.max(...by)), on: onValidation ? 'validation' : 'test' };
}

/** A run folder's seed, from its config.json. */
export function runSeed(dir: string): number {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new PiatError('missing-file', `${dir} is not a run folder: no config.json`);
  const seed = readJson<{ config?: { seed?: unknown } }>(file).config?.seed;
  if (typeof seed !== 'number') throw new PiatError('bad-value', `${file} records no seed (config.seed)`);
  return seed;
}

function evaluatedRecords(dir: string): EpochRecord[] {
  const records = readRecordsFile(dir);
  if (!records.length) throw new PiatError('missing-file', `${dir}: no records.jsonl (has the run trained an epoch?)`);
  const evaluated = records.filter((e) => typeof e.robustAcc === 'number' || typeof e.cleanAcc === 'number');
  if (!evaluated.length) throw new PiatError('bad-value', `${path.join(dir, 'records.jsonl')}: no evaluated epoch`);
  return evaluated;
}

/** The first part of an evaluation cache file's key: a checksum of the settings it was evaluated under. */
export function evalSettingsKey(settings: unknown): string {
  return sha256(JSON.stringify(settings)).slice(0, 12);
}

/**
 * A run folder's cached final evaluations of its Best or Final weights (the pool's
 * eval-<which>-<settings key>-<weights key>.json), file names only; `settings`: under those settings only.
 */
export function evalCacheFiles(runDir: string, which: Checkpoint, settings?: string): string[] {
  const prefix = `eval-${which}-${settings ? `${settings}-` : ''}`;
  return fs.readdirSync(runDir).filter((f) => f.startsWith(prefix) && f.endsWith('.json') && !f.endsWith('.aa-state.json'));
}

/** Hooks whose Final weights are an average, not the last epoch's (finalWeightsDir's averaged/). */
const AVERAGING_HOOKS = ['swa', 'ema', 'fawa'];

/**
 * Whether a finished run's Final weights are its Best ones: Best was its last epoch (done.json) and it
 * does not average weights. The pool then evaluated them once, as Best.
 */
export function finalIsBest(dir: string): boolean {
  const file = path.join(dir, 'done.json');
  if (!fs.existsSync(file)) return false;
  const done = readJson<{ epochs?: number; best?: { epoch?: number } }>(file);
  const hooks = fs.existsSync(path.join(dir, 'config.json'))
    ? readJson<{ hooks?: { name?: string }[] }>(path.join(dir, 'config.json')).hooks
    : [];
  if ((hooks ?? []).some((h) => AVERAGING_HOOKS.includes(h.name ?? ''))) return false;
  return typeof done.epochs === 'number' && done.best?.epoch === done.epochs;
}

/** Whether a run folder holds the final evaluation of Best and of Final under these settings (Final may be Best's: finalIsBest). */
export function hasFinalEvaluation(dir: string, settings: string): boolean {
  return evalCacheFiles(dir, 'best', settings).length > 0 && (evalCacheFiles(dir, 'final', settings).length > 0 || finalIsBest(dir));
}

/** One run's per-image correctness at Best or Final, with where it came from. */
export function runImages(dir: string, o: RunImagesOptions): { seed: number; flags: Uint8Array; source: string } {
  const seed = runSeed(dir);
  if (o.attack) {
    // Best and Final were the same weights (the last epoch was the best): the pool evaluated them once, as Best
    const which = o.which === 'final' && !evalCacheFiles(dir, 'final', o.settings).length && finalIsBest(dir) ? 'best' : o.which;
    const hits = evalCacheFiles(dir, which, o.settings)
      .map((f) => ({ f, row: readJson<EvalRow[]>(path.join(dir, f)).find((r) => r.attack === o.attack) }))
      .filter((x) => x.row);
    if (!hits.length)
      throw new PiatError(
        'missing-file',
        `${dir}: no final evaluation of the ${o.which} weights with '${o.attack}' (eval-${o.which}-*.json; the pool's notebooks write them)`,
      );
    if (hits.length > 1)
      throw new PiatError(
        'bad-value',
        `${dir}: several evaluations of the ${o.which} weights with '${o.attack}' (${hits.map((h) => h.f).join(', ')}); remove the stale ones`,
      );
    const p = hits[0].row?.perImage;
    if (!p)
      throw new PiatError(
        'bad-value',
        `${path.join(dir, hits[0].f)}: '${o.attack}' has no per-image results (evaluated before they were kept); delete the file to evaluate again`,
      );
    return { seed, flags: perImageFlags(p), source: `${hits[0].f}, ${o.attack}${which !== o.which ? ' (Final = Best)' : ''}` };
  }
  const records = evaluatedRecords(dir);
  const i = o.which === 'final' ? records.length - 1 : selectedBestIndex(records).index;
  const e = records[i];
  const p = e.perImage?.test?.[o.metric ?? 'robust'];
  if (!p)
    throw new PiatError(
      'bad-value',
      `${dir}: epoch ${e.epoch}'s record has no per-image ${o.metric ?? 'robust'} results (recorded before they were kept)`,
    );
  return { seed, flags: perImageFlags(p), source: `epoch ${e.epoch} (${o.which})` };
}

/** A side of a comparison from its run folders (one per seed). */
export function sideOf(dirs: string[], o: RunImagesOptions): SeedsByImage & { sources: string[] } {
  if (!dirs.length) throw new PiatError('bad-option', 'a side of a comparison needs at least one run folder');
  const runs = dirs.map((d) => runImages(d, o));
  return { seeds: runs.map((r) => r.seed), values: runs.map((r) => r.flags), sources: runs.map((r, i) => `${dirs[i]}: ${r.source}`) };
}

/**
 * A's accuracy minus B's, paired: `a` and `b` are run folders (one per seed), each side at its own
 * checkpoint (e.g. the same runs at Best against Final for robust overfitting).
 */
export function compareRuns(a: string[], b: string[], o: { a: RunImagesOptions; b: RunImagesOptions } & PairedOptions): PairedDifference {
  return pairedDifference(sideOf(a, o.a), sideOf(b, o.b), o);
}
