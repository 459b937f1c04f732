/**
 * Robustness evaluation with the paper's protocol (src/settings.ts): L∞, ε = 8/255, step 2/255;
 * PGD20 = PGD with random start, 20 steps; CW = PGD on the margin loss, 20 steps; AA = AutoAttack.
 * Attacks are named as the registry (src/attacks/registry.ts) names them. Returns one row per attack,
 * with which of the first n images each left correct (`perImage`), so two models compare image by image.
 */
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset } from '../data/dataset';
import { accuracyOf, correctness } from './accuracy';
import { PerImage, toPerImage } from './per-image';
import { PiatError } from '../util/errors';
import { AaBudget, resolveAttack } from '../attacks/registry';
import { defaultStep, PAPER_THREAT } from '../settings';
import { formatSeconds, Progress } from '../util/progress';

/** The attacks evaluate() runs unless told: clean, PGD20 and CW20 (the paper's columns without AutoAttack). */
export const DEFAULT_ATTACKS: readonly string[] = ['clean', 'pgd20', 'cw20'];

export interface EvalOptions {
  /** attack names of the registry (clean, pgd20, cw20, aa, …); default clean, pgd20, cw20 */
  attacks?: string[];
  /** default 8/255 */
  eps?: number;
  /** default ε/4 (2/255 at the default ε) */
  alpha?: number;
  /** first n examples (default all) */
  n?: number;
  batchSize?: number;
  seed?: number;
  progress?: boolean;
  /** AutoAttack state file, so an interrupted 'aa' evaluation resumes */
  aaStatePath?: string;
  /** AutoAttack settings other than the standard version's (e.g. a cheaper custom list for smoke runs) */
  aa?: AaBudget;
}

export interface EvalRow {
  attack: string;
  accuracy: number;
  n: number;
  seconds: number;
  /** which of the n images were classified correctly (after the attack), for paired comparisons; absent in evaluations cached before it was kept */
  perImage?: PerImage;
}

export function evaluate(model: tf.LayersModel, data: ArrayDataset, o: EvalOptions = {}): EvalRow[] {
  // every name is resolved before any work
  const attacks = (o.attacks ?? DEFAULT_ATTACKS).map(resolveAttack);
  const eps = o.eps ?? PAPER_THREAT.eps;
  const settings = { eps, alpha: o.alpha ?? defaultStep(eps), seed: o.seed ?? 0, aa: o.aa };
  const n = Math.min(o.n ?? data.size, data.size);
  const progress = new Progress({ label: 'evaluate', total: attacks.length, keepOpen: true, enabled: o.progress !== false });
  const start = Date.now();
  const rows = attacks.map(({ name, entry, steps }) => {
    const t0 = Date.now();
    let acc: number;
    let flags: ArrayLike<boolean | number>;
    if (entry.kind === 'dataset') {
      const r = entry.run(model, data, settings, { n, statePath: o.aaStatePath, progress: o.progress });
      acc = r.accuracy;
      flags = r.correct;
    } else {
      flags = correctness(model, data, entry.kind === 'batch' ? entry.make(settings, steps) : undefined, { n, batchSize: o.batchSize });
      acc = accuracyOf(flags);
    }
    progress.tick(1, `${name} ${(100 * acc).toFixed(2)}%`);
    return { attack: name, accuracy: acc, n, seconds: (Date.now() - t0) / 1000, perImage: toPerImage(flags) };
  });
  progress.finish(
    `evaluate · ${rows.map((r) => `${r.attack} ${(100 * r.accuracy).toFixed(2)}%`).join(' · ')} · ${n} images · ${formatSeconds((Date.now() - start) / 1000)}`,
  );
  return rows;
}

/** The paper's Table I layout: Best, Final and |Best − Final| per attack, in percent. */
export function bestFinalDiff(best: EvalRow[], final: EvalRow[]): { attack: string; best: number; final: number; diff: number }[] {
  return best.map((b) => {
    const f = final.find((r) => r.attack === b.attack);
    if (!f) throw new PiatError('bad-input', `Final evaluation has no '${b.attack}' row.`);
    return { attack: b.attack, best: 100 * b.accuracy, final: 100 * f.accuracy, diff: Math.abs(100 * (b.accuracy - f.accuracy)) };
  });
}
