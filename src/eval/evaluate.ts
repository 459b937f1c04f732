/**
 * Robustness evaluation with the paper's protocol: L∞, ε = 8/255, step 2/255; PGD20 = PGD with
 * random start, 20 steps; CW = PGD on the margin loss, 20 steps. Returns one row per attack.
 */
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset } from '../data/dataset';
import { accuracy, AttackFn } from './accuracy';
import { pgd } from '../attacks/pgd';
import { cwInf, fgsm, ifgsm, mifgsm } from '../attacks/iterative';
import { PiatError } from '../util/errors';
import { autoAttack, AutoAttackOptions } from '../attacks/autoattack';
import { formatSeconds, Progress } from '../util/progress';

export interface EvalOptions {
  /** attack names (see ATTACKS); default clean, pgd20, cw20 */
  attacks?: string[];
  /** default 8/255 */
  eps?: number;
  /** default 2/255 */
  alpha?: number;
  /** first n examples (default all) */
  n?: number;
  batchSize?: number;
  seed?: number;
  progress?: boolean;
  /** AutoAttack state file, so an interrupted 'aa' evaluation resumes */
  aaStatePath?: string;
  /** AutoAttack settings other than the standard version's (e.g. a cheaper custom list for smoke runs) */
  aa?: Pick<AutoAttackOptions, 'version' | 'attacks' | 'apgdSteps' | 'targets' | 'squareQueries' | 'fabSteps'>;
}

export interface EvalRow {
  attack: string;
  accuracy: number;
  n: number;
  seconds: number;
}

type Maker = (eps: number, alpha: number, seed: number) => AttackFn | undefined;

/** Named attacks of the evaluation protocol. `pgdN` / `cwN` / `ifgsmN` / `mifgsmN` take any step count. */
export function attackByName(name: string): Maker {
  if (name === 'clean') return () => undefined;
  if (name === 'fgsm') return (eps) => (m, x, y) => fgsm(m, x, y, { eps });
  const m = /^(pgd|cw|ifgsm|mifgsm)(\d+)$/.exec(name);
  if (m) {
    const steps = Number(m[2]);
    switch (m[1]) {
      case 'pgd':
        return (eps, alpha, seed) => (mm, x, y) => pgd(mm, x, y, { eps, alpha, steps, seed });
      case 'cw':
        return (eps, alpha, seed) => (mm, x, y) => cwInf(mm, x, y, { eps, alpha, steps, seed });
      case 'ifgsm':
        return (eps, alpha) => (mm, x, y) => ifgsm(mm, x, y, { eps, alpha, steps });
      case 'mifgsm':
        return (eps, alpha) => (mm, x, y) => mifgsm(mm, x, y, { eps, alpha, steps });
    }
  }
  if (name === 'cw') return attackByName('cw20');
  throw new PiatError('unknown-option', `Unknown attack '${name}'. Expected clean, fgsm, aa (AutoAttack), or pgdN, cwN, ifgsmN, mifgsmN with N steps (e.g. pgd20, cw20).`);
}

export function evaluate(model: tf.LayersModel, data: ArrayDataset, o: EvalOptions = {}): EvalRow[] {
  const names = o.attacks ?? ['clean', 'pgd20', 'cw20'];
  // validate every name before any work; 'aa' (AutoAttack, standard version) runs on the whole set
  const makers = names.map((n) => [n, n === 'aa' ? null : attackByName(n)] as const);
  const eps = o.eps ?? 8 / 255;
  const alpha = o.alpha ?? 2 / 255;
  const n = Math.min(o.n ?? data.size, data.size);
  const progress = new Progress({ label: 'evaluate', total: names.length, keepOpen: true, enabled: o.progress !== false });
  const start = Date.now();
  const rows = makers.map(([name, make]) => {
    const t0 = Date.now();
    const acc = make
      ? accuracy(model, data, make(eps, alpha, o.seed ?? 0), { n, batchSize: o.batchSize })
      : autoAttack(model, data, { ...o.aa, eps, n, seed: o.seed ?? 0, statePath: o.aaStatePath, progress: o.progress }).robustAccuracy;
    progress.tick(1, `${name} ${(100 * acc).toFixed(2)}%`);
    return { attack: name, accuracy: acc, n, seconds: (Date.now() - t0) / 1000 };
  });
  progress.finish(`evaluate · ${rows.map((r) => `${r.attack} ${(100 * r.accuracy).toFixed(2)}%`).join(' · ')} · ${n} images · ${formatSeconds((Date.now() - start) / 1000)}`);
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
