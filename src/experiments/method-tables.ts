/**
 * Tables I, II, III, V and Fig. 6: methods trained from the shared pool (pool.ts), their Best and
 * Final weights evaluated with Clean, PGD20, CW20 and AutoAttack, laid out as the paper's tables
 * and set beside the paper's numbers.
 */
import { DatasetName } from '../data/images';
import { Profile } from './profiles';
import {
  aaLabel,
  evaluateRun,
  PoolArch,
  PoolConfig,
  poolConfig,
  poolData,
  PoolMethod,
  poolSeeds,
  reportedSeeds,
  tableDatasets,
  trainPoolSeeds,
} from './pool';
import { MethodRun } from './compare-methods';
import { bestFinalDiff, EvalRow } from '../eval/evaluate';
import { perImageFlags } from '../eval/per-image';
import {
  claimIs,
  compareHigher,
  Comparison,
  formatDifference,
  formatSummary,
  pairedDifference,
  PairedDifference,
  SeedsByImage,
  SeedSummary,
  summarizeSeeds,
  Verdict,
  verdictLabel,
} from '../stats';

export interface MethodsResult {
  profile: Profile;
  dataset: DatasetName;
  config: PoolConfig;
  /** the first seed's runs (per-epoch curves) */
  runs: MethodRun[];
  /** every seed's runs, in the order of the profile's seeds */
  seedRuns: { seed: number; runs: MethodRun[] }[];
  /** percent, one row per method × attack: the mean over seeds */
  rows: BestFinalRow[];
  /** per method × attack: Best and Final over seeds, with their 95% intervals (fractions) */
  stats: BestFinalStats[];
}

export interface BestFinalStats {
  dataset: string;
  method: string;
  attack: string;
  best: SeedSummary;
  final: SeedSummary;
  /** |Best − Final| per seed, as the paper's Diff column (not a proportion: seed spread only) */
  diff: SeedSummary;
  /**
   * per-image correctness of the Best and Final weights, one row per seed (the same test images):
   * what paired comparisons use; absent when an evaluation predates per-image results
   */
  perImage?: { best: SeedsByImage; final: SeedsByImage };
}

export interface BestFinalRow {
  dataset: string;
  method: string;
  attack: string;
  best: number;
  final: number;
  diff: number;
  /** the seed whose runs these are, and their per-image correctness (when evaluated with it) */
  seed?: number;
  bestImages?: Uint8Array;
  finalImages?: Uint8Array;
}

/**
 * Trains (or re-uses) the methods on one dataset for every seed of the profile and evaluates their
 * Best and Final weights; rows are means over seeds, stats carry the spread and intervals.
 */
export async function runMethodsOn(
  profile: Profile,
  dataset: DatasetName,
  methods: (string | PoolMethod)[],
  o: { arch?: PoolArch; progress?: boolean } = {},
): Promise<MethodsResult> {
  const config = poolConfig(profile, { dataset, arch: o.arch });
  const data = poolData(config);
  const seedRuns = await trainPoolSeeds(profile, config, methods, { progress: o.progress, data, evaluate: true });
  const perSeed: BestFinalRow[][] = [];
  for (const { seed, runs } of seedRuns) {
    const rows: BestFinalRow[] = [];
    for (const run of runs) {
      const [best, final] = await evaluateRun(run, data.test, config.final, { progress: o.progress });
      const images = (evalRows: EvalRow[], attack: string) => {
        const p = evalRows.find((x) => x.attack === attack)?.perImage;
        return p ? perImageFlags(p) : undefined;
      };
      for (const r of bestFinalDiff(best.rows, final.rows))
        rows.push({
          dataset: config.dataset,
          method: run.method,
          ...r,
          seed,
          bestImages: images(best.rows, r.attack),
          finalImages: images(final.rows, r.attack),
        });
    }
    perSeed.push(rows);
  }
  const stats = seedStats(perSeed, config.final.n);
  const rows = stats.map((x) => ({
    dataset: x.dataset,
    method: x.method,
    attack: x.attack,
    best: 100 * x.best.mean,
    final: 100 * x.final.mean,
    diff: 100 * x.diff.mean,
  }));
  return { profile, dataset: config.dataset, config, runs: seedRuns[0].runs, seedRuns, rows, stats };
}

/** Per method × attack over seeds (rows in percent, as evaluate's; summaries in fractions). */
export function seedStats(perSeed: BestFinalRow[][], n: number): BestFinalStats[] {
  return perSeed[0].map((r0) => {
    const same = perSeed.map((rows) => rows.find((r) => r.method === r0.method && r.attack === r0.attack) as BestFinalRow);
    return {
      dataset: r0.dataset,
      method: r0.method,
      attack: r0.attack,
      best: summarizeSeeds(
        same.map((r) => r.best / 100),
        n,
      ),
      final: summarizeSeeds(
        same.map((r) => r.final / 100),
        n,
      ),
      diff: summarizeSeeds(same.map((r) => r.diff / 100)),
      ...perImageOf(same),
    };
  });
}

/** One method × attack's per-image results over seeds, when every seed has them (with its seed). */
function perImageOf(same: BestFinalRow[]): Pick<BestFinalStats, 'perImage'> {
  if (!same.every((r) => r.bestImages && r.finalImages && r.seed !== undefined)) return {};
  const seeds = same.map((r) => r.seed as number);
  return {
    perImage: {
      best: { seeds, values: same.map((r) => r.bestImages as Uint8Array) },
      final: { seeds, values: same.map((r) => r.finalImages as Uint8Array) },
    },
  };
}

/** The same over the datasets a table uses at this profile (the paper's at `paper`, Fashion-MNIST otherwise). */
export async function runMethodsTable(
  profile: Profile,
  paperDatasets: DatasetName[],
  methods: (string | PoolMethod)[],
  o: { arch?: PoolArch; progress?: boolean } = {},
): Promise<MethodsResult[]> {
  const out: MethodsResult[] = [];
  for (const d of tableDatasets(profile, paperDatasets)) out.push(await runMethodsOn(profile, d, methods, o));
  return out;
}

const ATTACK_TITLES: Record<string, string> = { clean: 'Clean', pgd20: 'PGD20', cw20: 'CW', aa: 'AA' };

/** Table I's columns for one attack: "<Attack> best", "<Attack> final" and "<Attack> diff". */
export function bestFinalColumns<T>(attack: string, v: { best: T; final: T; diff: T }): [string, T][] {
  const t = ATTACK_TITLES[attack] ?? attack;
  return [
    [`${t} best`, v.best],
    [`${t} final`, v.final],
    [`${t} diff`, v.diff],
  ];
}

/**
 * Table I's wide layout: one row per dataset × method, Best / Final / Diff per attack: numbers (one
 * seed) or "mean ± std" over seeds.
 */
export function bestFinalWide(results: MethodsResult[]): Record<string, string | number>[] {
  return results.flatMap((r) =>
    [...new Set(r.rows.map((x) => x.method))].map((method) => {
      const row: Record<string, string | number> = { dataset: r.dataset, method };
      if (r.seedRuns.length > 1) {
        for (const x of r.stats.filter((y) => y.method === method))
          for (const [k, v] of bestFinalColumns(x.attack, x)) row[k] = formatSummary(v, { digits: 2, interval: false });
      } else {
        for (const x of r.rows.filter((y) => y.method === method)) for (const [k, v] of bestFinalColumns(x.attack, x)) row[k] = v;
      }
      return row;
    }),
  );
}

/**
 * Every accuracy with its 95% interval (binomial on the test images, and the seed spread when there are
 * several seeds), and Best − Final paired by image and seed with its verdict (robust overfitting).
 */
export function intervalTable(results: MethodsResult[]): Record<string, string>[] {
  return results.flatMap((r) =>
    r.stats.map((x) => {
      const bf = bestVsFinal(r, x.method, x.attack);
      return {
        dataset: x.dataset,
        method: x.method,
        attack: ATTACK_TITLES[x.attack] ?? x.attack,
        Best: formatSummary(x.best),
        Final: formatSummary(x.final),
        '|Best − Final|': formatSummary(x.diff),
        'Best − Final, paired': bf ? formatDifference(bf) : 'unpaired: no per-image results',
        'falls (Best > Final)': bf ? verdictLabel(bf) : '–',
      };
    }),
  );
}

/** The summaries of one method and attack, or undefined. */
export function statOf(r: MethodsResult, method: string, attack: string): BestFinalStats | undefined {
  return r.stats.find((x) => x.method === method && x.attack === attack);
}

/**
 * "A higher than B" on an attack's Best or Final weights, with its verdict (undefined when either is
 * missing): paired on the test images (and on seeds both ran) when both have per-image results,
 * otherwise from the summaries alone (older evaluations; `unpaired` says so).
 */
export function compareMethodsOn(
  r: MethodsResult,
  a: string,
  b: string,
  attack: string,
  which: 'best' | 'final',
): MethodComparison | undefined {
  const x = statOf(r, a, attack);
  const y = statOf(r, b, attack);
  if (!x || !y) return undefined;
  if (x.perImage && y.perImage) return pairedDifference(x.perImage[which], y.perImage[which]);
  return { ...compareHigher(x[which], y[which]), unpaired: true };
}

/** A comparison: paired (PairedDifference) or, without per-image results, from the summaries alone. */
export type MethodComparison = PairedDifference | (Comparison & { unpaired: true });

const isPaired = (c: MethodComparison): c is PairedDifference => !('unpaired' in c);

/**
 * "Robust accuracy falls after its peak", judged without a maximum: the Best weights (chosen on the
 * held-out validation split) against the Final ones on the same test images, paired by image and
 * seed. Undefined without per-image results; when Best was chosen on the test images themselves the
 * comparison is biased upwards and the verdict is inconclusive (the reason says so).
 */
export function bestVsFinal(r: MethodsResult, method: string, attack: string): PairedDifference | undefined {
  const x = statOf(r, method, attack);
  if (!x?.perImage) return undefined;
  const c = pairedDifference(x.perImage.best, x.perImage.final);
  return r.config.validationSize ? c : { ...c, verdict: 'inconclusive', reason: 'Best chosen on these test images' };
}

/** A comparison as "+1.23 ± 2.10 pts" (difference and its 95% half-width, in points), or the paired form with its parts. */
export function formatComparison(c: MethodComparison): string {
  if (isPaired(c)) return formatDifference(c, 2);
  const hw = Number.isFinite(c.halfWidth) ? ` ± ${(100 * c.halfWidth).toFixed(2)}` : ' (spread unknown: one seed)';
  return `${c.diff >= 0 ? '+' : ''}${(100 * c.diff).toFixed(2)}${hw} pts (unpaired: no per-image results)`;
}

/** The sentence for a claim's verdict, with what it rests on (seeds and images). */
export function verdictSentence(v: Verdict, r: MethodsResult): string {
  const seeds = r.seedRuns.length;
  const paired = r.stats.every((x) => x.perImage);
  const design = paired
    ? `, differences paired on the same images${seeds > 1 ? ' and seeds' : ''}`
    : ', unpaired: evaluations without per-image results';
  return `The claim ${claimIs(v)} (95% intervals over ${seeds} seed${seeds > 1 ? 's' : ''} and ${r.config.final.n} test images${design}; a difference inside its interval is inconclusive${seeds === 1 ? ', and with one seed every comparison is (the training spread is unknown)' : ''}).`;
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
      .flatMap((x) =>
        which.map((w) => ({
          dataset: r.dataset,
          method: x.method,
          attack: ATTACK_TITLES[x.attack] ?? x.attack,
          which: w,
          accuracy: x[w] / 100,
        })),
      ),
  );
}

/** What the profile evaluates, in words, for the notebooks' first and last cells. */
export function evaluationNote(c: PoolConfig): string {
  const eps = c.final.eps < 0.05 ? `${Math.round(c.final.eps * 255)}/255` : String(c.final.eps);
  return `Final evaluation on the first ${c.final.n} test images: clean, PGD20 and CW20 (L∞, ε = ${eps}, step ${c.final.alpha.toFixed(4)}), ${aaLabel(c.final)}. ${c.validationSize ? `Best = the epoch with the highest PGD-${c.evalAttack.steps} accuracy on ${c.validationSize} held-out training images (never trained on, so the test images did not choose it)` : `Best = the epoch with the highest PGD-${c.evalAttack.steps} accuracy on the first ${c.testSize} test images during training (the same images report it)`}; Final = the last epoch.${seedNote(c)}`;
}

/** Two decimals, or '–' for a missing value (the summaries' tables). */
export const fmt2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');

/** The methods ordered by a column, best first. */
export function rankBy(rows: Record<string, string | number>[], column: string): string[] {
  return [...rows].sort((a, b) => (b[column] as number) - (a[column] as number)).map((r) => r.method as string);
}

/** For each pair (base, PIAT+base) present: does PIAT raise the given column? */
export function piatGains(
  rows: Record<string, string | number>[],
  column: string,
): { base: string; without: number; with: number; gain: number }[] {
  const out: { base: string; without: number; with: number; gain: number }[] = [];
  for (const r of rows) {
    const name = r.method as string;
    const piatName = name === 'PGD-AT' ? 'PIAT' : `PIAT+${name}`;
    const p = rows.find((x) => x.method === piatName && x.dataset === r.dataset);
    if (p)
      out.push({
        base: name,
        without: r[column] as number,
        with: p[column] as number,
        gain: (p[column] as number) - (r[column] as number),
      });
  }
  return out;
}

/** Which seeds the tables average over, and whether PIAT_SEEDS left some of the profile's out. */
function seedNote(c: PoolConfig): string {
  const all = poolSeeds(c);
  const used = reportedSeeds(c);
  if (used.length < all.length)
    return ` Seed${used.length > 1 ? 's' : ''} ${used.join(', ')} only, of the profile's ${all.join(', ')} (PIAT_SEEDS)${used.length > 1 ? ': tables show mean ± std over these' : ': no spread over seeds, intervals from the test images alone'}.`;
  return all.length > 1 ? ` Seeds ${all.join(', ')}: tables show mean ± std over seeds.` : '';
}
