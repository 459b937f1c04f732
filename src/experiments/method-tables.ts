/**
 * Tables I, II, III, V and Fig. 6: methods trained from the shared pool (pool.ts), their Best and
 * Final weights evaluated with Clean, PGD20, CW20 and AutoAttack, laid out as the paper's tables
 * and set beside the paper's numbers.
 */
import { DatasetName } from '../data/images';
import { Profile } from './profiles';
import { aaLabel, evaluateRun, PoolArch, PoolConfig, poolConfig, poolData, PoolMethod, tableDatasets, trainPool } from './pool';
import { MethodRun } from './compare-methods';
import { bestFinalDiff } from '../eval/evaluate';

export interface MethodsResult {
  profile: Profile;
  dataset: DatasetName;
  config: PoolConfig;
  runs: MethodRun[];
  /** percent, one row per method × attack */
  rows: BestFinalRow[];
}

export interface BestFinalRow {
  dataset: string;
  method: string;
  attack: string;
  best: number;
  final: number;
  diff: number;
}

/** Trains (or re-uses) the methods on one dataset and evaluates their Best and Final weights. */
export async function runMethodsOn(profile: Profile, dataset: DatasetName, methods: (string | PoolMethod)[], o: { arch?: PoolArch; progress?: boolean } = {}): Promise<MethodsResult> {
  const config = poolConfig(profile, { dataset, arch: o.arch });
  const data = poolData(config);
  const runs = await trainPool(profile, config, methods, { progress: o.progress, data });
  const rows: BestFinalRow[] = [];
  for (const run of runs) {
    const [best, final] = await evaluateRun(run, data.test, config.final, { progress: o.progress });
    for (const r of bestFinalDiff(best.rows, final.rows)) rows.push({ dataset: config.dataset, method: run.method, ...r });
  }
  return { profile, dataset: config.dataset, config, runs, rows };
}

/** The same over the datasets a table uses at this profile (the paper's at `paper`, Fashion-MNIST otherwise). */
export async function runMethodsTable(profile: Profile, paperDatasets: DatasetName[], methods: (string | PoolMethod)[], o: { arch?: PoolArch; progress?: boolean } = {}): Promise<MethodsResult[]> {
  const out: MethodsResult[] = [];
  for (const d of tableDatasets(profile, paperDatasets)) out.push(await runMethodsOn(profile, d, methods, o));
  return out;
}

const ATTACK_TITLES: Record<string, string> = { clean: 'Clean', pgd20: 'PGD20', cw20: 'CW', aa: 'AA' };

/** Table I's columns for one attack: "<Attack> best", "<Attack> final" and "<Attack> diff". */
export function bestFinalColumns(attack: string, v: { best: number; final: number; diff: number }): [string, number][] {
  const t = ATTACK_TITLES[attack] ?? attack;
  return [[`${t} best`, v.best], [`${t} final`, v.final], [`${t} diff`, v.diff]];
}

/** Table I's wide layout: one row per dataset × method, Best / Final / Diff per attack. */
export function bestFinalWide(results: MethodsResult[]): Record<string, string | number>[] {
  return results.flatMap((r) =>
    [...new Set(r.rows.map((x) => x.method))].map((method) => {
      const row: Record<string, string | number> = { dataset: r.dataset, method };
      for (const x of r.rows.filter((y) => y.method === method)) for (const [k, v] of bestFinalColumns(x.attack, x)) row[k] = v;
      return row;
    }),
  );
}

/** Tables II–V's layout: Clean, PGD20 and AA of the Best weights, one row per dataset × method. */
export function bestOnlyWide(results: MethodsResult[]): Record<string, string | number>[] {
  return results.flatMap((r) =>
    [...new Set(r.rows.map((x) => x.method))].map((method) => {
      const get = (a: string) => r.rows.find((x) => x.method === method && x.attack === a)?.best ?? NaN;
      return { dataset: r.dataset, method, Clean: get('clean'), PGD20: get('pgd20'), CW: get('cw20'), AA: get('aa') };
    }),
  );
}

/** Rows {dataset, method, attack, which, accuracy (fraction)} for bar charts. */
export function accuracyBars(results: MethodsResult[], attacks: string[], which: ('best' | 'final')[] = ['best']) {
  return results.flatMap((r) =>
    r.rows
      .filter((x) => attacks.includes(x.attack))
      .flatMap((x) => which.map((w) => ({ dataset: r.dataset, method: x.method, attack: ATTACK_TITLES[x.attack] ?? x.attack, which: w, accuracy: x[w] / 100 }))),
  );
}

/** What the profile evaluates, in words, for the notebooks' first and last cells. */
export function evaluationNote(c: PoolConfig): string {
  const eps = c.final.eps < 0.05 ? `${Math.round(c.final.eps * 255)}/255` : String(c.final.eps);
  return `Final evaluation on the first ${c.final.n} test images: clean, PGD20 and CW20 (L∞, ε = ${eps}, step ${c.final.alpha.toFixed(4)}), ${aaLabel(c.final)}. Best = the epoch with the highest PGD-${c.evalAttack.steps} accuracy on ${c.testSize} test images during training; Final = the last epoch.`;
}

/** Two decimals, or '–' for a missing value (the summaries' tables). */
export const fmt2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');

/**
 * The verdict sentence of a summary: `held` of `total` checks passed; all of them agrees, at
 * least `partlyFrom` (default 1) partly holds, fewer does not hold.
 */
export function claimVerdict(held: number, total: number, partlyFrom = 1): string {
  if (held === total) return 'The claim **agrees** on this run.';
  return held >= partlyFrom ? 'The claim **partly holds** on this run.' : 'The claim **does not hold** on this run.';
}

/** The methods ordered by a column, best first. */
export function rankBy(rows: Record<string, string | number>[], column: string): string[] {
  return [...rows].sort((a, b) => (b[column] as number) - (a[column] as number)).map((r) => r.method as string);
}

/** For each pair (base, PIAT+base) present: does PIAT raise the given column? */
export function piatGains(rows: Record<string, string | number>[], column: string): { base: string; without: number; with: number; gain: number }[] {
  const out: { base: string; without: number; with: number; gain: number }[] = [];
  for (const r of rows) {
    const name = r.method as string;
    const piatName = name === 'PGD-AT' ? 'PIAT' : `PIAT+${name}`;
    const p = rows.find((x) => x.method === piatName && x.dataset === r.dataset);
    if (p) out.push({ base: name, without: r[column] as number, with: p[column] as number, gain: (p[column] as number) - (r[column] as number) });
  }
  return out;
}
