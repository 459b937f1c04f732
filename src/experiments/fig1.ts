/**
 * Notebook 02, Fig. 1: robust test accuracy per epoch of PGD-AT, TRADES, MART and PIAT+NMSE —
 * oscillation early, robust overfitting late — from the shared pool (the same runs as Table I),
 * over the profile's seeds.
 */
import { Profile } from './profiles';
import { poolConfig, PoolConfig, tableDatasets, trainPoolSeeds } from './pool';
import { curveStats, CurveStats, SeededRuns } from './curve-stats';
import { combineVerdicts, compareHigher, formatSummary, positiveVerdict, SeedSummary, Verdict } from '../stats';

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
    'fall after peak (3-epoch avg)': pts(s.fall),
    'early oscillation (std of changes)': pts(s.earlyOscillation),
    'final robust, training images': s.trainRobustFinal ? pts(s.trainRobustFinal) : '–',
  }));
}

export interface Fig1Claims {
  /** per baseline: robust test accuracy falls after its peak */
  overfits: Record<string, Verdict>;
  /** per baseline: its training robustness rises after the test peak */
  trainRises: Record<string, Verdict>;
  /** per baseline: PIAT+NMSE oscillates less early */
  piatSmoother: Record<string, Verdict>;
  /** per baseline: PIAT+NMSE ends with higher robust accuracy */
  piatEndsHigher: Record<string, Verdict>;
}

export function fig1Claims(r: Fig1Result): Fig1Claims {
  const piat = r.stats.find((s) => s.method === 'PIAT+NMSE');
  const out: Fig1Claims = { overfits: {}, trainRises: {}, piatSmoother: {}, piatEndsHigher: {} };
  for (const s of r.stats.filter((x) => x.method !== 'PIAT+NMSE')) {
    out.overfits[s.method] = positiveVerdict(s.fall);
    out.trainRises[s.method] = s.trainRobustRise ? positiveVerdict(s.trainRobustRise) : 'inconclusive';
    if (piat) {
      out.piatSmoother[s.method] = compareHigher(s.earlyOscillation, piat.earlyOscillation).verdict;
      out.piatEndsHigher[s.method] = compareHigher(piat.final, s.final).verdict;
    }
  }
  return out;
}

export function fig1Summary(r: Fig1Result): string {
  const c = fig1Claims(r);
  const seeds = r.seedRuns.length;
  const row = (claim: string, v: Record<string, Verdict>) => `| ${claim} | ${Object.entries(v).map(([m, x]) => `${m}: ${x}`).join(' · ')} | **${combineVerdicts(Object.values(v))}** |`;
  return [
    '**Paper (Sec. I, Fig. 1, CIFAR-10):** PGD-AT, TRADES and MART show clear oscillation of robust accuracy early in training and robust overfitting late (robust test accuracy falls while training accuracy rises); PIAT(+NMSE) is smoother and ends higher.',
    '',
    `**Here** (${seeds} seed${seeds > 1 ? 's' : ''}, ${r.config.testSize} test images per epoch):`,
    '',
    '| claim | per method | verdict |',
    '|---|---|---|',
    row('robust test accuracy falls after its peak', c.overfits),
    row('robust accuracy on training images keeps rising after the test peak', c.trainRises),
    row('PIAT+NMSE oscillates less early than', c.piatSmoother),
    row('PIAT+NMSE ends with higher robust accuracy than', c.piatEndsHigher),
    '',
    `Verdicts use 95% intervals over ${seeds} seed${seeds > 1 ? 's' : ''} (and the binomial error of ${r.config.testSize} test images for accuracies): a difference inside its interval is **inconclusive**${seeds === 1 ? '; with one seed the spread of a fall or an oscillation is unknown, so those verdicts are inconclusive by construction' : ''}.` +
      (r.profile === 'paper' ? '' : ` (Small CNN on ${r.config.dataset} at ε = ${r.config.attack.eps}: a qualitative check, not the paper's CIFAR-10 numbers.)`),
  ].join('\n');
}
