/**
 * Notebook 02, Fig. 1: robust test accuracy per epoch of PGD-AT, TRADES, MART and PIAT+NMSE —
 * oscillation early, robust overfitting late — from the shared pool (the same runs as Table I),
 * over the profile's seeds.
 */
import { Profile } from './profiles';
import { poolConfig, PoolConfig, tableDatasets, trainPoolSeeds } from './pool';
import { compareCurves, curveStats, CurveStats, SeededRuns } from './curve-stats';
import {
  combineVerdicts,
  compareHigher,
  formatDifference,
  formatSummary,
  positiveVerdict,
  SeedSummary,
  Verdict,
  verdictLabel,
} from '../stats';

export const FIG1_METHODS = ['PGD-AT', 'TRADES', 'MART', 'PIAT+NMSE'] as const;

export interface Fig1Result {
  profile: Profile;
  config: PoolConfig;
  seedRuns: SeededRuns[];
  stats: CurveStats[];
}

/** The pool config Fig. 1 uses at a profile (CIFAR-10 / ResNet-18 at paper, the embedded data otherwise). */
export function fig1Config(profile: Profile): PoolConfig {
  return poolConfig(profile, { dataset: tableDatasets(profile, ['cifar10'])[0], arch: 'resnet18' });
}

/** Trains (or re-uses) the four methods for every seed of the profile. */
export async function runFig1(profile: Profile, o: { progress?: boolean } = {}): Promise<Fig1Result> {
  const config = fig1Config(profile);
  const seedRuns = await trainPoolSeeds(profile, config, [...FIG1_METHODS], { progress: o.progress });
  return { profile, config, seedRuns, stats: curveStats(seedRuns, config.testSize) };
}

const pts = (x: SeedSummary) => formatSummary(x, { digits: 1 });

/** One row per method: peak, end, fall after the peak, early oscillation, training robustness (percent, mean ± std [95% interval]). */
export function fig1Table(r: Fig1Result) {
  return r.stats.map((s) => ({
    method: s.method,
    'best robust': pts(s.best),
    'at epoch': s.bestEpochs.join(', '),
    'final robust': pts(s.final),
    'fall after peak (3-evaluation avg; description)': pts(s.fall),
    [`Best − Final, paired (Best chosen on ${s.bestSelectedOn})`]: s.bestVsFinal ? formatDifference(s.bestVsFinal) : 'no per-image results',
    'early oscillation (std of changes)': pts(s.earlyOscillation),
    'final robust, training images': s.trainRobustFinal ? pts(s.trainRobustFinal) : '–',
  }));
}

export interface Fig1Claims {
  /** per baseline: robust test accuracy falls after its peak (Best against Final, paired) */
  overfits: Record<string, Verdict>;
  /** per baseline: its training robustness rises after the test peak */
  trainRises: Record<string, Verdict>;
  /** per baseline: PIAT+NMSE oscillates less early */
  piatSmoother: Record<string, Verdict>;
  /** per baseline: PIAT+NMSE ends with higher robust accuracy */
  piatEndsHigher: Record<string, Verdict>;
  /** why a verdict is inconclusive regardless of the data, per claim and method ("1 seed", "not measured: …") */
  reasons: Record<string, string>;
}

export function fig1Claims(r: Fig1Result): Fig1Claims {
  const piat = r.stats.find((s) => s.method === 'PIAT+NMSE');
  const out: Fig1Claims = { overfits: {}, trainRises: {}, piatSmoother: {}, piatEndsHigher: {}, reasons: {} };
  const note = (claim: string, method: string, c: { reason?: string }) => c.reason && (out.reasons[`${claim} · ${method}`] = c.reason);
  for (const s of r.stats.filter((x) => x.method !== 'PIAT+NMSE')) {
    // the fall is judged by Best (chosen on held-out images) against Final on the same test images, not by the curve's maximum
    const bf = s.bestVsFinal;
    out.overfits[s.method] = bf && s.bestSelectedOn === 'validation' ? bf.verdict : 'inconclusive';
    note(
      'falls',
      s.method,
      !bf ? { reason: 'no per-image results' } : s.bestSelectedOn !== 'validation' ? { reason: 'Best chosen on the test images' } : bf,
    );
    out.trainRises[s.method] = s.trainRobustRise ? positiveVerdict(s.trainRobustRise) : 'inconclusive';
    if (piat) {
      const measured = s.oscillationMeasured && piat.oscillationMeasured;
      out.piatSmoother[s.method] = measured ? compareHigher(s.earlyOscillation, piat.earlyOscillation).verdict : 'inconclusive';
      if (!measured) note('oscillates less', s.method, { reason: 'not measured: the early epochs were not each evaluated' });
      const end = compareCurves(piat, s, 'final');
      out.piatEndsHigher[s.method] = end.verdict;
      note('ends higher', s.method, end);
    }
  }
  return out;
}

/** A method's verdict on one claim with its reason, if any: "holds", "inconclusive (not measured: …)". */
export function claimLabel(c: Fig1Claims, claim: string, method: string, v: Verdict): string {
  return verdictLabel({ verdict: v, reason: c.reasons[`${claim} · ${method}`] });
}

export function fig1Summary(r: Fig1Result): string {
  const c = fig1Claims(r);
  const seeds = r.seedRuns.length;
  const row = (claim: string, key: string, v: Record<string, Verdict>) =>
    `| ${claim} | ${Object.entries(v)
      .map(([m, x]) => `${m}: ${claimLabel(c, key, m, x)}`)
      .join(' · ')} | **${combineVerdicts(Object.values(v))}** |`;
  return [
    '**Paper (Sec. I, Fig. 1, CIFAR-10):** PGD-AT, TRADES and MART show clear oscillation of robust accuracy early in training and robust overfitting late (robust test accuracy falls while training accuracy rises); PIAT(+NMSE) is smoother and ends higher.',
    '',
    `**Here** (${seeds} seed${seeds > 1 ? 's' : ''}, ${r.config.testSize} test images per epoch):`,
    '',
    '| claim | per method | verdict |',
    '|---|---|---|',
    row('robust test accuracy falls after its peak (Best vs Final, paired)', 'falls', c.overfits),
    row('robust accuracy on training images keeps rising after the test peak', 'rises', c.trainRises),
    row('PIAT+NMSE oscillates less early than', 'oscillates less', c.piatSmoother),
    row('PIAT+NMSE ends with higher robust accuracy than', 'ends higher', c.piatEndsHigher),
    '',
    `Verdicts use 95% intervals over ${seeds} seed${seeds > 1 ? 's' : ''}; accuracies are compared paired on the same ${r.config.testSize} test images (and seeds), Best (the epoch chosen on ${r.config.validationSize ? `${r.config.validationSize} held-out training images` : 'the test images themselves, which biases it'}) against Final for the fall. A difference inside its interval is **inconclusive**${seeds === 1 ? '; with one seed the training spread is unknown, so every verdict is inconclusive (1 seed)' : ''}.` +
      (r.profile === 'paper'
        ? ''
        : ` (Small CNN on ${r.config.dataset} at ε = ${r.config.attack.eps}: a qualitative check, not the paper's CIFAR-10 numbers.)`),
  ].join('\n');
}
