/**
 * Notebook 08 (Fig. 7: NMSE's λ) and notebook 10 (Fig. 9: fixed β against the dynamic schedule),
 * both PIAT+NMSE variants trained in the shared pool (pool.ts) on CIFAR-10 at the paper profile
 * and Fashion-MNIST otherwise.
 */
import { DatasetName } from '../data/images';
import { BetaSchedule } from '../piat/schedule';
import { Profile, scaleNote } from './profiles';
import { bestOnlyWide, compareMethodsOn, fmt2 as f, MethodsResult, runMethodsOn } from './method-tables';
import { poolConfig, PoolMethod, tableDatasets, trainPoolSeeds } from './pool';
import { compareCurves, curveRows, curveStats, CurveStats, SeededRuns } from './curve-stats';
import { claimIs, combineVerdicts, formatDifference, formatSummary, Verdict, verdictLabel, verdictOf } from '../stats';

/** CHOSEN (docs/METHOD.md, "Sweeps"): the paper's list of λ values was lost in extraction; it picks λ = 4. */
export const FIG7_LAMBDAS = [1, 2, 4, 6, 8];
export const DEFAULT_NMSE_LAMBDA = 4;
/** CHOSEN (docs/METHOD.md, "Sweeps"): the paper's fixed β values were lost in extraction; small, middle and large. */
export const FIG9_BETAS = [0.3, 0.6, 0.9];

const sweepDataset = (profile: Profile): DatasetName => tableDatasets(profile, ['cifar10'])[0];

/** PIAT+NMSE at λ (the default λ re-uses the plain PIAT+NMSE run). */
export function lambdaMethod(lambda: number): PoolMethod {
  return lambda === DEFAULT_NMSE_LAMBDA ? { name: 'PIAT+NMSE' } : { name: 'PIAT+NMSE', variant: { nmseLambda: lambda } };
}

export async function runLambdaSweep(profile: Profile, o: { lambdas?: number[]; progress?: boolean } = {}): Promise<MethodsResult> {
  return runMethodsOn(profile, sweepDataset(profile), (o.lambdas ?? FIG7_LAMBDAS).map(lambdaMethod), {
    arch: 'resnet18',
    progress: o.progress,
  });
}

/** Rows {lambda, metric, accuracy (fraction)} of the Best weights, for Fig. 7's chart. */
export function lambdaRows(r: MethodsResult, lambdas = FIG7_LAMBDAS) {
  const wide = bestOnlyWide([r]);
  return lambdas.flatMap((lambda, i) => {
    const row = wide[i];
    return ['Clean', 'PGD20', 'CW', 'AA'].map((metric) => ({ lambda, metric, accuracy: (row[metric] as number) / 100 }));
  });
}

export function lambdaSummary(r: MethodsResult, lambdas = FIG7_LAMBDAS): string {
  const rows = lambdaRows(r, lambdas);
  const spread = (metric: string) => {
    const v = rows.filter((x) => x.metric === metric).map((x) => 100 * x.accuracy);
    return { min: Math.min(...v), max: Math.max(...v) };
  };
  const aa = spread('AA');
  const pgd = spread('PGD20');
  const at4 = rows.find((x) => x.lambda === DEFAULT_NMSE_LAMBDA && x.metric === 'AA');
  const verdict = stabilityVerdict(r, lambdas);
  return [
    '**Paper (Fig. 7, CIFAR-10):** the accuracy of PIAT+NMSE stays relatively stable across λ; λ = 4 balances clean and robust accuracy and is used throughout.',
    '',
    `**Here** (${r.dataset}, λ ∈ {${lambdas.join(', ')}}): AA accuracy ranges ${f(aa.min)}–${f(aa.max)} % (spread ${f(aa.max - aa.min)} points), PGD20 ${f(pgd.min)}–${f(pgd.max)} % (spread ${f(pgd.max - pgd.min)}); λ = 4 gives AA ${at4 ? f(100 * at4.accuracy) : '–'} %. ` +
      `"Stable" read as every pair of λ within ${STABLE_POINTS} points on PGD20 and AA: the claim ${claimIs(verdict)} (it holds when every difference and its 95% interval stay inside ±${STABLE_POINTS} points, does not hold when one lies outside beyond its interval).` +
      scaleNote(r.profile),
  ].join('\n');
}

/** How far apart "relatively stable" accuracies may be, in points (our reading of Fig. 7). */
export const STABLE_POINTS = 2;

/** Equivalence within ±STABLE_POINTS for every pair of λ, on PGD20 and AA of the Best weights. */
export function stabilityVerdict(r: MethodsResult, lambdas = FIG7_LAMBDAS): Verdict {
  const names = lambdas.map((l) => (l === DEFAULT_NMSE_LAMBDA ? 'PIAT+NMSE' : `PIAT+NMSE λ=${l}`));
  const m = STABLE_POINTS / 100;
  const vs: Verdict[] = [];
  for (const attack of ['pgd20', 'aa'])
    for (let i = 0; i < names.length; i++)
      for (let j = i + 1; j < names.length; j++) {
        const c = compareMethodsOn(r, names[i], names[j], attack, 'best');
        if (!c) continue;
        // inside the band with its whole interval: holds; outside beyond its interval: does not hold
        vs.push(verdictOf(m - Math.abs(c.diff), c.halfWidth));
      }
  return combineVerdicts(vs);
}

/** PIAT+NMSE with a fixed β (the dynamic schedule re-uses the plain PIAT+NMSE run). */
export function betaMethod(beta: number | 'dynamic'): PoolMethod {
  if (beta === 'dynamic') return { name: 'PIAT+NMSE' };
  const schedule: BetaSchedule = { kind: 'fixed', beta };
  return { name: 'PIAT+NMSE', variant: { piatSchedule: schedule } };
}

/** A schedule's label in Fig. 9's tables and curves. */
export const betaLabel = (b: number | 'dynamic'): string => (b === 'dynamic' ? 'dynamic β (Eq. 10)' : `fixed β = ${b}`);

export interface BetaResult {
  profile: Profile;
  /** per seed, one run per schedule (method names replaced by the schedule's label) */
  seedRuns: SeededRuns[];
  stats: CurveStats[];
  /** test images evaluated per epoch */
  n: number;
}

/** Trains (or re-uses) PIAT+NMSE with each fixed β and the dynamic schedule, for every seed; Fig. 9 reads their per-epoch records. */
export async function runBetaSchedules(profile: Profile, o: { betas?: number[]; progress?: boolean } = {}): Promise<BetaResult> {
  const betas: (number | 'dynamic')[] = [...(o.betas ?? FIG9_BETAS), 'dynamic'];
  const config = poolConfig(profile, { dataset: sweepDataset(profile), arch: 'resnet18' });
  // the method names become the schedules' labels
  const seedRuns = (await trainPoolSeeds(profile, config, betas.map(betaMethod), { progress: o.progress })).map((s) => ({
    ...s,
    runs: s.runs.map((run, i) => ({ ...run, method: betaLabel(betas[i]) })),
  }));
  return { profile, seedRuns, stats: curveStats(seedRuns, config.testSize), n: config.testSize };
}

/** Rows {epoch, schedule, metric, accuracy} for Fig. 9's curves: the mean over seeds (curveRows, keyed by schedule). */
export function betaCurves(r: BetaResult) {
  return curveRows(r.seedRuns, 'robust (PGD)').map(({ method, ...row }) => ({ schedule: method, ...row }));
}

/** Early mean robust accuracy, its oscillation, best, final and the fall after the peak, per schedule (mean ± std [95% interval], percent). */
export function betaTable(r: BetaResult) {
  const p = (x: Parameters<typeof formatSummary>[0]) => formatSummary(x, { digits: 1 });
  return r.stats.map((s) => ({
    schedule: s.method,
    'early mean robust': p(s.earlyMean),
    'early std of changes': p(s.earlyOscillation),
    best: p(s.best),
    final: p(s.final),
    'fall after peak (3-evaluation avg; description)': p(s.fall),
    'Best − Final, paired': s.bestVsFinal ? formatDifference(s.bestVsFinal) : 'no per-image results',
  }));
}

/** Fig. 9's three claims and their verdicts (none without a dynamic and two fixed schedules): the notebook's summary and the published results. */
export function betaClaims(r: BetaResult): { claim: string; verdict: string }[] {
  const dyn = r.stats.find((x) => x.method.startsWith('dynamic'));
  const fixed = r.stats.filter((x) => x !== dyn);
  const small = fixed[0];
  const large = fixed[fixed.length - 1];
  if (!dyn || !small || !large) return [];
  return [
    {
      claim: `small β (${small.method}) is more robust early than large β (${large.method})`,
      verdict: verdictLabel(compareCurves(small, large, 'earlyMean')),
    },
    { claim: 'small β falls more from Best to Final than large β (paired)', verdict: verdictLabel(compareCurves(small, large, 'fall')) },
    {
      claim: 'the dynamic β ends more robust than every fixed β',
      verdict: combineVerdicts(fixed.map((x) => compareCurves(dyn, x, 'final').verdict)),
    },
  ];
}

export function betaSummary(r: BetaResult, profile: Profile): string {
  const lines = [
    '**Paper (Fig. 9, CIFAR-10, PGD20):** early in training a small fixed β gives better robustness than a large one; late in training a large fixed β does not overfit while a small one does; the dynamic β of Eq. 10 gets both and ends best.',
  ];
  const claims = betaClaims(r);
  if (claims.length) {
    const seeds = r.seedRuns.length;
    lines.push(
      '',
      `**Here** (${r.seedRuns.length} seed${r.seedRuns.length > 1 ? 's' : ''}, ${r.n} test images per epoch; the table above has the numbers):`,
      '',
      '| claim | verdict |',
      '|---|---|',
      ...claims.map((c) => `| ${c.claim} | **${c.verdict}** |`),
      '',
      `Verdicts use 95% intervals over ${seeds} seed${seeds > 1 ? 's' : ''}, paired on the same ${r.n} test images per epoch (and seeds) where the runs kept per-image results; a difference inside its interval is **inconclusive**${seeds === 1 ? ', and with one seed every verdict is (the training spread is unknown)' : ''}.` +
        (profile === 'smoke' || profile === 'quick'
          ? ' (A small CNN on Fashion-MNIST: the dynamic β reaches only (k+1)/(k+10) after k epochs, so a short run barely exercises its late part.)'
          : ''),
    );
  }
  return lines.join('\n');
}
