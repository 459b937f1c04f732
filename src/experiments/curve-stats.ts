/**
 * Per-epoch curves over seeds (Fig. 1, Fig. 9): what each run's robust test accuracy did — its
 * peak, its end, the fall from one to the other (robust overfitting) and the early oscillation —
 * summarised over seeds with 95% intervals, and the curves themselves as mean and range.
 */
import { MethodRun } from './compare-methods';
import { oscillation } from '../analysis/oscillation';
import { compareHigher, Comparison, pairedDifference, PairedDifference, SeedsByImage, SeedSummary, summarizeSeeds } from '../stats';
import { perImageFlags } from '../eval/per-image';
import { selectedBestIndex } from '../eval/compare-runs';

export { selectedBestIndex };

export interface SeededRuns {
  seed: number;
  runs: MethodRun[];
}

export interface CurveStats {
  method: string;
  /** the highest per-epoch robust test accuracy and the last one (proportions of n images) */
  best: SeedSummary;
  final: SeedSummary;
  /** the epochs of the peak, per seed */
  bestEpochs: number[];
  /**
   * the fall after the peak on the moving average of 3 evaluated epochs (max of it − its last value;
   * with evaluation every 10th epoch the window spans 30 epochs): the raw
   * best − final is biased upwards by the evaluation noise, which the max picks up
   */
  fall: SeedSummary;
  /** std of epoch-to-epoch changes over the first half of training (oscillation) */
  earlyOscillation: SeedSummary;
  /** mean robust accuracy over the first half */
  earlyMean: SeedSummary;
  /** the last epoch's robust accuracy on training images, when the runs recorded it */
  trainRobustFinal?: SeedSummary;
  /** its rise from the test peak's epoch to the end (training robustness keeps rising while the test's falls) */
  trainRobustRise?: SeedSummary;
  /** the split that chose each run's Best epoch: held-out training images, or the test images themselves */
  bestSelectedOn: 'validation' | 'test';
  /** the Best epoch (as the trainer chose it), per seed */
  selectedEpochs: number[];
  /**
   * robust test accuracy at the Best epoch against the last, paired by image and seed (from the
   * per-epoch per-image results; absent for runs recorded without them): the overfitting test
   */
  bestVsFinal?: PairedDifference;
  /** per-image robust correctness at the Best and the last evaluated epoch, one row per seed */
  bestImages?: SeedsByImage;
  finalImages?: SeedsByImage;
  /** per-image robust correctness averaged over the first half's evaluated epochs, one row per seed */
  earlyImages?: SeedsByImage;
  /** whether the first half was evaluated at every epoch (else the oscillation was not measured, only sampled) */
  oscillationMeasured: boolean;
}

/** The records of the epochs that were evaluated (robust accuracy recorded). */
export function evaluatedRecords(r: MethodRun): MethodRun['records'] {
  return r.records.filter((e) => typeof e.robustAcc === 'number');
}

/** Moving average over `w` epochs (shorter at the start). */
export function movingAverage(v: number[], w = 3): number[] {
  return v.map((_, i) => {
    const part = v.slice(Math.max(0, i - w + 1), i + 1);
    return part.reduce((a, b) => a + b, 0) / part.length;
  });
}

/** The fall after the peak of a curve (its evaluated epochs only), on the moving average of `w` evaluations. */
export function fallAfterPeak(v: number[], w = 3): number {
  const m = movingAverage(v, w);
  return Math.max(...m) - m[m.length - 1];
}

/** Robust per-image flags of the test subset at each evaluated epoch, or undefined when any epoch lacks them. */
function robustImages(records: MethodRun['records']): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  for (const e of records) {
    const p = e.perImage?.test?.robust;
    if (!p) return undefined;
    out.push(perImageFlags(p));
  }
  return out;
}

/** Curve statistics per method over seeds; `n` = test images evaluated per epoch. */
export function curveStats(seedRuns: SeededRuns[], n: number): CurveStats[] {
  const methods = seedRuns[0]?.runs.map((r) => r.method) ?? [];
  return methods.map((method) => {
    // only the evaluated epochs (a run with eval.every > 1 records null in between)
    const runs = seedRuns
      .map((s) => s.runs.find((r) => r.method === method) as MethodRun)
      .map((r) => ({ ...r, records: evaluatedRecords(r) }));
    const robust = runs.map((r) => r.records.map((e) => e.robustAcc as number));
    const half = (v: number[]) => v.slice(0, Math.max(2, Math.ceil(v.length / 2)));
    const bestAt = robust.map((v) => v.indexOf(Math.max(...v)));
    const bestEpochs = runs.map((r, i) => r.records[bestAt[i]].epoch);
    const train = runs.map((r) => r.records.map((e) => e.trainRobustAcc));
    const seeds = seedRuns.map((x) => x.seed);
    const selected = runs.map((r) => selectedBestIndex(r.records));
    const firstHalfEpochs = runs.map((r) => half(r.records.map((e) => e.epoch)));
    const consecutive = firstHalfEpochs.every((ep) => ep.every((x, i) => i === 0 || x === ep[i - 1] + 1));
    const hasTrain = train.every((v) => v.length && v.every((x) => typeof x === 'number'));
    const out: CurveStats = {
      method,
      best: summarizeSeeds(
        robust.map((v) => Math.max(...v)),
        n,
      ),
      final: summarizeSeeds(
        robust.map((v) => v[v.length - 1]),
        n,
      ),
      bestEpochs,
      fall: summarizeSeeds(robust.map((v) => fallAfterPeak(v))),
      earlyOscillation: summarizeSeeds(robust.map((v) => oscillation(half(v)).stdOfChanges)),
      earlyMean: summarizeSeeds(robust.map((v) => half(v).reduce((a, b) => a + b, 0) / half(v).length)),
      bestSelectedOn: selected.every((x) => x.on === 'validation') ? 'validation' : 'test',
      selectedEpochs: runs.map((r, i) => r.records[selected[i].index].epoch),
      oscillationMeasured: consecutive,
    };
    const images = runs.map((r) => robustImages(r.records));
    if (images.every((x): x is Uint8Array[] => x !== undefined)) {
      const at = (pick: (rows: Uint8Array[], i: number) => ArrayLike<number>): SeedsByImage => ({
        seeds,
        values: images.map((rows, i) => pick(rows, i)),
      });
      out.finalImages = at((rows) => rows[rows.length - 1]);
      out.bestImages = at((rows, i) => rows[selected[i].index]);
      out.bestVsFinal = pairedDifference(out.bestImages, out.finalImages);
      out.earlyImages = at((rows) => {
        const h = rows.slice(0, Math.max(2, Math.ceil(rows.length / 2)));
        return Float64Array.from(h[0], (_, j) => h.reduce((s, r) => s + r[j], 0) / h.length);
      });
    }
    if (hasTrain) {
      const t = train as number[][];
      out.trainRobustFinal = summarizeSeeds(t.map((v) => v[v.length - 1]));
      out.trainRobustRise = summarizeSeeds(t.map((v, i) => v[v.length - 1] - v[bestAt[i]]));
    }
    return out;
  });
}

/** Per image and seed, Best's correctness minus Final's (1: lost after Best, −1: gained). */
function fallImages(x: CurveStats): SeedsByImage | undefined {
  const { bestImages: b, finalImages: f } = x;
  if (!b || !f) return undefined;
  return { seeds: b.seeds, values: b.values.map((row, s) => Float64Array.from(row, (v, i) => v - f.values[s][i])) };
}

/**
 * "A is higher than B" on a curve statistic: the last epoch's robust accuracy, the first half's mean,
 * or the fall from Best to Final. Paired by image and seed when both kept per-image results; else
 * from the summaries (the fall then from the moving-average description, which a flat noisy curve
 * also shows: such a verdict says little).
 */
export function compareCurves(a: CurveStats, b: CurveStats, what: 'final' | 'earlyMean' | 'fall'): Comparison {
  const images = {
    final: [a.finalImages, b.finalImages],
    earlyMean: [a.earlyImages, b.earlyImages],
    fall: [fallImages(a), fallImages(b)],
  }[what];
  if (images[0] && images[1]) return pairedDifference(images[0], images[1]);
  return compareHigher(a[what], b[what]);
}

/** Per-epoch rows {method, epoch, metric, accuracy, lo, hi}: the mean over seeds and its range (min–max). */
export function curveRows(seedRuns: SeededRuns[], robustLabel: string, o: { train?: boolean; clean?: boolean } = {}) {
  const methods = seedRuns[0]?.runs.map((r) => r.method) ?? [];
  const metrics: [string, (e: MethodRun['records'][number]) => number | null | undefined][] = [[robustLabel, (e) => e.robustAcc]];
  if (o.clean !== false) metrics.push(['clean', (e) => e.cleanAcc]);
  if (o.train) metrics.push([`${robustLabel}, training images`, (e) => e.trainRobustAcc]);
  return methods.flatMap((method) => {
    const runs = seedRuns.map((s) => s.runs.find((r) => r.method === method) as MethodRun);
    const epochs = Math.min(...runs.map((r) => r.records.length));
    return metrics.flatMap(([metric, get]) =>
      Array.from({ length: epochs }, (_, i) => {
        const v = runs.map((r) => get(r.records[i])).filter((x): x is number => typeof x === 'number');
        if (!v.length) return [];
        return [
          { method, epoch: i + 1, metric, accuracy: v.reduce((a, b) => a + b, 0) / v.length, lo: Math.min(...v), hi: Math.max(...v) },
        ];
      }).flat(),
    );
  });
}
