/**
 * The search behind the overfit profile: settings of PGD-AT on the embedded Fashion-MNIST (a small
 * CNN with batch norm, the paper's LR shape) trained long enough to see whether robust overfitting
 * happens — robust test accuracy on ≥ 1000 images peaking and then falling by ≥ 3 points while
 * robust accuracy on training images keeps rising. Each setting trains into
 * runs/overfit-search/<profile>/<setting>/seed-<s>/ (cached and resumable like every run).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Profile, runRoot } from './profiles';
import { poolConfig, PoolConfig, poolData, poolRoot, trainPool } from './pool';
import { MethodRun, runDirName } from './compare-methods';
import { modelLabel } from './notebook';
import { curveStats, evaluatedRecords, fallAfterPeak } from './curve-stats';
import { describeSchedule, paperLinearDecay } from '../train/lr';
import { oneOf, PiatError } from '../util/errors';
import { claimIs, formatDifference, PairedDifference, summarizeSeeds, verdictLabel, verdictOf, Verdict } from '../stats';
import { lineChart } from '../plots/charts';
import { VegaLiteSpec } from '../plots/render';

export interface SearchSetting {
  name: string;
  /** what differs from the overfit profile's pool config */
  overrides: Partial<PoolConfig>;
  /** the overfit profile's own setting: its runs are the pool's PGD-AT runs, shared with notebooks 02 and 03 */
  pool?: boolean;
  /**
   * the setting whose training this one repeats exactly, evaluating differently (e.g. more often):
   * the same seed gives the same weights at every epoch, so the pooled fall counts such runs once,
   * under the setting they re-measure
   */
  remeasures?: string;
}

/** Pool-config fields that change what is evaluated, not what is trained (a re-measuring setting may differ from its source only in these). */
export const EVALUATION_ONLY_KEYS = ['evalEvery', 'validationSize', 'seeds'] as const;

/** The criterion's thresholds: a fall of at least 3 points on at least 1000 test images. */
export const OVERFIT_FALL = 0.03;
export const OVERFIT_MIN_TEST = 1000;

/** The profile's attacks (training PGD-5 at step 2.5ε/5, evaluation PGD-10 at step ε/4) at another ε. */
const threat = (eps: number): Partial<PoolConfig> => ({
  attack: { eps, alpha: (2.5 * eps) / 5, steps: 5 },
  evalAttack: { eps, alpha: eps / 4, steps: 10 },
});

const search = (epochs: number, o: Partial<PoolConfig>): Partial<PoolConfig> => ({
  epochs,
  lrSchedule: paperLinearDecay(epochs),
  validationSize: 0,
  trainEvalSize: 500,
  testSize: 1000,
  evalEvery: 1,
  ...o,
});

/** The settings tried, in the order they were tried (notebooks/11-overfitting-search.ipynb shows their curves). */
export const SEARCH_SETTINGS: SearchSetting[] = [
  { name: 'n2000-w16-b128-e30', overrides: search(30, { arch: 'small-cnn', trainSize: 2000, widths: [16, 32, 64], batchSize: 128 }) },
  { name: 'n1000-w32-b64-e40', overrides: search(40, { arch: 'small-cnn', trainSize: 1000, widths: [32, 64, 128], batchSize: 64 }) },
  { name: 'n500-w32-b50-e40', overrides: search(40, { arch: 'small-cnn', trainSize: 500, widths: [32, 64, 128], batchSize: 50 }) },
  // 40 epochs of 500 images are only 400 steps: five times the steps, evaluated every fifth epoch
  {
    name: 'n500-w32-b50-e200-every5',
    overrides: search(200, { arch: 'small-cnn', trainSize: 500, widths: [32, 64, 128], batchSize: 50, evalEvery: 5 }),
  },
  // the global-average-pooled small CNN never fits its adversarial examples (75 % after 2000 steps):
  // TRADES' CNN with a fully connected head does (95 %), and its robust test accuracy then falls
  { name: 'cnnfc-n500-b50-e60-every3', overrides: search(60, { arch: 'cnn-fc', trainSize: 500, batchSize: 50, evalEvery: 3 }) },
  // the overfit profile until 2026-12-06 (commit 4015439): the paper's linear LR shape
  {
    name: 'cnnfc-n500-b50-e120-every10',
    overrides: search(120, { arch: 'cnn-fc', trainSize: 500, batchSize: 50, evalEvery: 10, validationSize: 500 }),
  },
  // the profile's setting fell by >= 3 points in 1 seed of 3: fewer images overfit sooner and further
  {
    name: 'cnnfc-n300-b50-e120-every10',
    overrides: search(120, { arch: 'cnn-fc', trainSize: 300, trainEvalSize: 300, batchSize: 50, evalEvery: 10 }),
  },
  // fewer images lowered the peak as much as the end: two levers that act on the fall itself — a
  // larger threat (robust overfitting grows with ε on CIFAR-10, Rice et al. 2020) and no weight decay
  {
    name: 'cnnfc-n500-b50-e120-every10-eps0.2',
    overrides: search(120, { arch: 'cnn-fc', trainSize: 500, batchSize: 50, evalEvery: 10, ...threat(0.2) }),
  },
  {
    name: 'cnnfc-n500-b50-e120-every10-wd0',
    overrides: search(120, { arch: 'cnn-fc', trainSize: 500, batchSize: 50, evalEvery: 10, weightDecay: 0 }),
  },
  {
    name: 'cnnfc-n500-b50-e120-every10-eps0.2-wd0',
    overrides: search(120, { arch: 'cnn-fc', trainSize: 500, batchSize: 50, evalEvery: 10, weightDecay: 0, ...threat(0.2) }),
  },
  // neither lever deepened the fall; the rest of the profile's knobs, one at a time: a longer constant-LR phase, a larger or smaller LR, smaller batches (twice
  // the steps), a stronger training attack, an ε between, and denser evaluation around the peak
  { name: 'cnnfc-n500-b50-e200-every10', overrides: search(200, { arch: 'cnn-fc', trainSize: 500, batchSize: 50, evalEvery: 10 }) },
  {
    name: 'cnnfc-n500-b50-e120-every10-lr0.1',
    overrides: search(120, { arch: 'cnn-fc', trainSize: 500, batchSize: 50, evalEvery: 10, lr: 0.1 }),
  },
  {
    name: 'cnnfc-n500-b50-e120-every10-lr0.02',
    overrides: search(120, { arch: 'cnn-fc', trainSize: 500, batchSize: 50, evalEvery: 10, lr: 0.02 }),
  },
  { name: 'cnnfc-n500-b25-e120-every10', overrides: search(120, { arch: 'cnn-fc', trainSize: 500, batchSize: 25, evalEvery: 10 }) },
  {
    name: 'cnnfc-n500-b50-e120-every10-pgd10',
    overrides: search(120, { arch: 'cnn-fc', trainSize: 500, batchSize: 50, evalEvery: 10, attack: { eps: 0.1, alpha: 0.025, steps: 10 } }),
  },
  {
    name: 'cnnfc-n500-b50-e120-every10-eps0.15',
    overrides: search(120, { arch: 'cnn-fc', trainSize: 500, batchSize: 50, evalEvery: 10, ...threat(0.15) }),
  },
  // the earlier profile's training (cnnfc-n500-b50-e120-every10) evaluated twice as often: the 3-evaluation moving average then spans 15
  // epochs, not 30, and flattens the peak less (the training losses equal the profile's at all 120
  // epochs in seeds 1–3, bit for bit: evaluation neither draws from the training's random stream nor
  // touches the weights)
  {
    name: 'cnnfc-n500-b50-e120-every5',
    overrides: search(120, { arch: 'cnn-fc', trainSize: 500, batchSize: 50, evalEvery: 5 }),
    remeasures: 'cnnfc-n500-b50-e120-every10',
  },
  // capacity, the one lever not yet pulled — the head that memorises, four times as wide
  // (200 → 800: the head's 0.25 M parameters → 1.47 M; the convolutions, and so the cost, nearly unchanged)
  {
    name: 'cnnfc-fc800-n500-b50-e120-every10',
    overrides: search(120, { arch: 'cnn-fc', fcWidth: 800, trainSize: 500, batchSize: 50, evalEvery: 10 }),
  },
  // the paired test (Best chosen on 500 held-out training images against Final, on the same 1000
  // test images): Rice et al.'s shape of robust overfitting, a step decay early (÷10 at epoch 30)
  // and 90 epochs at the small LR after it, with 500 and with 250 training images. With 500 it
  // holds over six seeds, and it is the overfit profile since 2026-12-06
  { name: 'cnnfc-n500-b50-e120-step30-val500', overrides: {}, pool: true },
  {
    name: 'cnnfc-n250-b50-e120-step30-val500',
    overrides: search(120, {
      arch: 'cnn-fc',
      trainSize: 250,
      trainEvalSize: 250,
      batchSize: 50,
      evalEvery: 10,
      validationSize: 500,
      lrSchedule: { kind: 'piecewise', milestones: [30] },
    }),
  },
];

/** A setting at a profile: the overfit-scale setting itself, or (smoke) the same shape shrunk to seconds. */
export function searchConfig(profile: Profile, s: SearchSetting, seed: number): PoolConfig {
  const base = poolConfig('overfit');
  // the profile's own setting keeps the profile's seed list, so its runs land in the pool's folders
  const c: PoolConfig = { ...base, ...s.overrides, seed, seeds: s.pool ? base.seeds : [seed] };
  if (profile === 'smoke')
    return {
      ...c,
      trainSize: 128,
      testSize: 64,
      trainEvalSize: 64,
      validationSize: 0,
      epochs: 3,
      lrSchedule: paperLinearDecay(3),
      widths: [8, 16, 32],
      batchSize: 64,
      evalEvery: 1,
    };
  return c;
}

/** One row per setting at a profile (notebook 11's first table): what each trains and how it is evaluated. */
export function searchSettingsTable(profile: Profile): Record<string, string | number>[] {
  return SEARCH_SETTINGS.map((s) => {
    const c = searchConfig(profile, s, 1);
    return {
      setting: s.name,
      'training images': c.trainSize ?? 'all',
      model: modelLabel(c),
      batch: c.batchSize,
      epochs: c.epochs,
      LR: `${c.lr}, ${describeSchedule(c.lrSchedule)}`,
      'weight decay': c.weightDecay,
      ε: c.attack.eps,
      'training attack': `PGD-${c.attack.steps}, step ${+c.attack.alpha.toFixed(4)}`,
      'evaluation attack': `PGD-${c.evalAttack.steps}, step ${+c.evalAttack.alpha.toFixed(4)}`,
      augmentation: c.augmentation && !Object.keys(c.augmentation).length ? 'none' : 'crop',
      'test images / evaluation': c.testSize,
      'training images evaluated': c.trainEvalSize ?? 0,
      'held out for Best': c.validationSize ?? 0,
      'evaluated every (epochs)': c.evalEvery ?? 1,
      're-measures': s.remeasures ?? '',
    };
  });
}

export interface SearchRun {
  setting: string;
  seed: number;
  config: PoolConfig;
  run: MethodRun;
}

function findSetting(name: string): SearchSetting {
  const s = SEARCH_SETTINGS.find((x) => x.name === name);
  if (!s)
    throw new PiatError(
      'unknown-option',
      `Unknown search setting '${name}'. Expected one of: ${SEARCH_SETTINGS.map((x) => x.name).join(', ')}.`,
    );
  return s;
}

/** Where a setting's PGD-AT run of one seed lives: the overfit pool's run for the profile's own setting (beyond smoke), else runs/overfit-search/<profile>/<setting>/seed-<s>/. */
function searchRoot(profile: Profile, s: SearchSetting, config: PoolConfig): string | undefined {
  return s.pool && profile !== 'smoke' ? undefined : path.join(runRoot('overfit-search', profile), s.name, `seed-${config.seed}`);
}

/** A search run's folder (what `runOverfitSearch` trains or re-opens). */
export function searchRunDir(profile: Profile, name: string, seed: number): string {
  const s = findSetting(name);
  const config = searchConfig(profile, s, seed);
  return path.join(searchRoot(profile, s, config) ?? poolRoot('overfit', config), runDirName('PGD-AT'));
}

/** Whether a setting's run of one seed has finished, is part-trained (a checkpoint, no done.json) or has not started. */
export function searchRunState(profile: Profile, name: string, seed: number): 'finished' | 'partial' | 'not started' {
  const dir = searchRunDir(profile, name, seed);
  if (fs.existsSync(path.join(dir, 'done.json'))) return 'finished';
  return fs.existsSync(path.join(dir, 'records.jsonl')) ? 'partial' : 'not started';
}

/**
 * How notebook 11 gets its runs, from PIAT_SEARCH: `train` (default) trains what is missing;
 * `finished` re-opens the finished runs of seeds 1–3 and trains nothing (the search as it stands, in minutes).
 */
export function searchModeFromEnv(env: NodeJS.ProcessEnv = process.env): 'train' | 'finished' {
  return oneOf('PIAT_SEARCH', env.PIAT_SEARCH ?? 'train', ['train', 'finished'] as const);
}

/** Seeds a search looks at unless told: seed 1 when it trains (each run takes tens of minutes), seeds 1–3 when it only re-opens finished runs. */
export function defaultSearchSeeds(finishedOnly: boolean): number[] {
  return finishedOnly ? [1, 2, 3] : [1];
}

/** The (setting, seed) pairs that have not finished, with their state: what a `finishedOnly` search leaves out. */
export function unfinishedSearchRuns(
  profile: Profile,
  settings: string[] = SEARCH_SETTINGS.map((x) => x.name),
  seeds: number[] = defaultSearchSeeds(true),
): { setting: string; seed: number; state: 'partial' | 'not started' }[] {
  return settings.flatMap((setting) =>
    seeds.flatMap((seed) => {
      const state = searchRunState(profile, setting, seed);
      return state === 'finished' ? [] : [{ setting, seed, state }];
    }),
  );
}

/** Markdown: the runs a `finishedOnly` search left out, by setting, and the command that trains them. */
export function unfinishedNote(profile: Profile, left: { setting: string; seed: number; state: string }[]): string {
  if (!left.length) return 'Every setting and seed asked for has finished.';
  const by = new Map<string, string[]>();
  for (const l of left) by.set(l.setting, [...(by.get(l.setting) ?? []), `${l.seed}${l.state === 'partial' ? ' (part-trained)' : ''}`]);
  return [
    `**Not shown (not finished, nothing was trained):** ${[...by].map(([setting, seeds]) => `${setting} seed ${seeds.join(', ')}`).join('; ')}.`,
    `Train one with \`node dist/src/cli.js overfit-search --profile ${profile} --settings <setting> --seeds <s>\` (tens of minutes a run on 2 cores; a part-trained run resumes).`,
  ].join(' ');
}

/**
 * Trains (or re-uses) PGD-AT for each named setting and seed. `finishedOnly`: re-open the runs that
 * have finished and skip the rest (nothing trains; `searchRunState` says what was skipped).
 */
export async function runOverfitSearch(
  profile: Profile,
  o: { settings?: string[]; seeds?: number[]; progress?: boolean; finishedOnly?: boolean } = {},
): Promise<SearchRun[]> {
  const names = o.settings ?? SEARCH_SETTINGS.map((s) => s.name);
  const out: SearchRun[] = [];
  for (const name of names) {
    const s = findSetting(name);
    for (const seed of o.seeds ?? defaultSearchSeeds(!!o.finishedOnly)) {
      if (o.finishedOnly && searchRunState(profile, name, seed) !== 'finished') continue;
      const config = searchConfig(profile, s, seed);
      const data = poolData(config);
      // the profile's setting (beyond smoke) re-uses, or trains, the overfit pool's PGD-AT run of this seed
      const root = searchRoot(profile, s, config);
      const [run] = await trainPool(root ? profile : 'overfit', config, ['PGD-AT'], { progress: o.progress, data, root });
      out.push({ setting: name, seed, config, run });
    }
  }
  return out;
}

export interface SearchVerdict {
  setting: string;
  seed: number;
  testImages: number;
  /** evaluated every this many epochs (and after the last) */
  evalEvery: number;
  /** highest robust test accuracy, its epoch, the last one */
  peak: number;
  peakEpoch: number;
  final: number;
  /** the fall after the peak on the moving average of 3 evaluated epochs */
  fall: number;
  /** robust training accuracy: at the test peak's epoch and at the end */
  trainAtPeak: number | null;
  trainFinal: number | null;
  /** fall ≥ 3 points on ≥ 1000 test images while the training robustness rose after the peak */
  overfits: boolean;
}

/** The criterion applied to one run's records. */
export function searchVerdict(r: SearchRun): SearchVerdict {
  const records = evaluatedRecords(r.run);
  const rob = records.map((e) => e.robustAcc as number);
  const train = records.map((e) => (typeof e.trainRobustAcc === 'number' ? e.trainRobustAcc : null));
  const peak = Math.max(...rob);
  const peakAt = rob.indexOf(peak);
  const peakEpoch = records[peakAt].epoch;
  const fall = fallAfterPeak(rob);
  const trainAtPeak = train[peakAt];
  const trainFinal = train[train.length - 1];
  const rises = trainAtPeak !== null && trainFinal !== null && trainFinal > trainAtPeak;
  return {
    setting: r.setting,
    seed: r.seed,
    testImages: r.config.testSize,
    evalEvery: r.config.evalEvery ?? 1,
    peak,
    peakEpoch,
    final: rob[rob.length - 1],
    fall,
    trainAtPeak,
    trainFinal,
    overfits: fall >= OVERFIT_FALL && r.config.testSize >= OVERFIT_MIN_TEST && rises,
  };
}

/** Per-epoch rows {setting, seed, epoch, metric, accuracy} for the search's curves. */
export function searchCurves(runs: SearchRun[]) {
  return runs.flatMap((r) =>
    evaluatedRecords(r.run).flatMap((e) => [
      { setting: r.setting, seed: r.seed, epoch: e.epoch, metric: 'robust, test', accuracy: e.robustAcc ?? NaN },
      {
        setting: r.setting,
        seed: r.seed,
        epoch: e.epoch,
        metric: 'robust, training images',
        accuracy: typeof e.trainRobustAcc === 'number' ? e.trainRobustAcc : NaN,
      },
      { setting: r.setting, seed: r.seed, epoch: e.epoch, metric: 'clean, test', accuracy: e.cleanAcc ?? NaN },
    ]),
  );
}

/** The curves the search's charts draw: robust accuracy on test and training images, one series per metric and seed. */
function searchChartRows(runs: SearchRun[]) {
  return searchCurves(runs)
    .filter((r) => r.metric !== 'clean, test')
    .map((r) => ({ ...r, run: `${r.metric} · seed ${r.seed}` }));
}

/** One chart per setting (notebook 11). */
export function searchCharts(runs: SearchRun[]): VegaLiteSpec[] {
  const rows = searchChartRows(runs);
  return [...new Set(rows.map((r) => r.setting))].map((s) =>
    lineChart(
      rows.filter((r) => r.setting === s),
      {
        title: `${s}: robust accuracy per epoch (PGD-10)`,
        x: 'epoch',
        y: 'accuracy',
        color: 'run',
        percent: true,
        width: 520,
        height: 220,
      },
    ),
  );
}

/** Every setting in one faceted figure (`piat overfit-search --svg FILE`). */
export function searchFigure(runs: SearchRun[]): VegaLiteSpec {
  return lineChart(searchChartRows(runs), {
    title: 'PGD-AT on Fashion-MNIST, per search setting: robust accuracy (PGD-10) on 1000 test images and on training images',
    x: 'epoch',
    y: 'accuracy',
    color: 'run',
    facet: 'setting',
    percent: true,
    width: 380,
    height: 180,
  });
}

/** The setting the overfit profile uses (its pool config repeats these values). */
export const OVERFIT_SETTING = 'cnnfc-n500-b50-e120-step30-val500';

/** A run "fits its training images" when its robust accuracy on them ends at least this high: only such runs can overfit. */
export const FITTED_TRAIN_ROBUST = 0.9;

export interface PooledFall {
  /** runs on ≥ OVERFIT_MIN_TEST test images that fit their training images */
  runs: number;
  /** mean and sample standard deviation of their falls (fractions) */
  mean: number;
  std: number;
  /** how many fell by ≥ OVERFIT_FALL, and that share cubed: the chance that 3 seeds all do, were each seed to fall that far with the pooled rate */
  reached: number;
  allThree: number;
  /** 95% interval of the mean fall (Student t over the runs, taken as draws of one population) */
  interval: { lo: number; hi: number };
  /** "the mean fall is below the criterion's 3 points": holds when the interval's top is under it */
  belowCriterion: Verdict;
  /** runs left out because the same seed's training is already counted under the setting they re-measure */
  remeasuredLeftOut: number;
}

/** The falls of every fitted run of every setting together: how large robust overfitting is at this size, against the criterion's threshold. */
export function pooledFall(vs: SearchVerdict[]): PooledFall | null {
  // a training measured twice counts once, as its source (whose grid the other settings share);
  // a re-measuring run whose source run is not among vs stands for that training itself
  const counted = (v: SearchVerdict) => !vs.some((u) => u.setting === remeasured(v.setting) && u.seed === v.seed);
  const fitted = vs.filter(
    (v) => counted(v) && v.testImages >= OVERFIT_MIN_TEST && v.trainFinal !== null && v.trainFinal >= FITTED_TRAIN_ROBUST,
  );
  if (fitted.length < 2) return null;
  const { mean, std, interval } = summarizeSeeds(fitted.map((v) => v.fall));
  const reached = fitted.filter((v) => v.fall >= OVERFIT_FALL).length;
  return {
    runs: fitted.length,
    mean,
    std,
    reached,
    allThree: (reached / fitted.length) ** 3,
    interval,
    belowCriterion: verdictOf(OVERFIT_FALL - mean, mean - interval.lo),
    remeasuredLeftOut: vs.filter((v) => !counted(v)).length,
  };
}

/** The setting a search setting re-measures (undefined for its own training, or a name not in SEARCH_SETTINGS). */
function remeasured(name: string): string | undefined {
  return SEARCH_SETTINGS.find((x) => x.name === name)?.remeasures;
}

const everyNth = (n: number) =>
  n === 1 ? 'every epoch' : `every ${n}${n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'} epoch`;

/** "X (re-evaluates the training of Y … every n-th epoch)" for a re-measuring setting, else X; `evalEvery` as its runs were evaluated. */
function settingLabel(name: string, evalEvery: number | undefined): string {
  const source = remeasured(name);
  if (!source) return name;
  return `${name} (re-evaluates the training of ${source}${source === OVERFIT_SETTING ? ', the overfit profile' : ''}${evalEvery ? `, ${everyNth(evalEvery)}` : ''})`;
}

/** Markdown: which settings meet the criterion in every seed, and what that means for the overfit profile. */
export function searchSummary(vs: SearchVerdict[]): string {
  const settings = [...new Set(vs.map((v) => v.setting))];
  const bySetting = settings.map((s) => {
    const mine = vs.filter((v) => v.setting === s);
    const ok = mine.filter((v) => v.overfits).length;
    return { label: settingLabel(s, mine[0].evalEvery), seeds: mine.length, ok, met: ok === mine.length && mine.length >= 3 };
  });
  const lines = bySetting.map(
    (b) =>
      `- **${b.label}**: meets the criterion in ${b.ok} of ${b.seeds} seed${b.seeds > 1 ? 's' : ''}${b.met ? ' — robust overfitting happens here in every seed tried' : ''}.`,
  );
  const met = bySetting.filter((b) => b.met).map((b) => b.label);
  return [
    `**Criterion:** robust test accuracy (≥ ${OVERFIT_MIN_TEST} images) falls by ≥ ${100 * OVERFIT_FALL} points after its peak (moving average of 3 evaluated epochs) while robust accuracy on training images rises from the peak's epoch to the end, in each of 3 seeds.`,
    '',
    ...lines,
    '',
    met.length
      ? `Settings that meet it in 3 seeds: ${met.join(', ')}. The overfit profile uses ${OVERFIT_SETTING}.`
      : 'No setting has met it in 3 seeds yet: the overfit profile cannot claim robust overfitting until one does.',
    ...pooledLines(pooledFall(vs)),
  ].join('\n');
}

function pooledLines(p: PooledFall | null): string[] {
  if (!p) return [];
  const pts = (x: number) => (100 * x).toFixed(2);
  return [
    '',
    `**All settings together**${p.remeasuredLeftOut ? ` (${p.remeasuredLeftOut} re-evaluated run${p.remeasuredLeftOut > 1 ? 's' : ''} left out: ${p.remeasuredLeftOut > 1 ? 'their trainings are' : 'its training is'} counted once, under the setting re-evaluated)` : ''}: the ${p.runs} runs that fit their training images (robust accuracy on them ≥ ${100 * FITTED_TRAIN_ROBUST} % at the end) fall by ${pts(p.mean)} ± ${pts(p.std)} points after their peaks; ${p.reached} of ${p.runs} reach ${100 * OVERFIT_FALL} points. ` +
      `Were every seed to reach it at that rate, 3 seeds of one setting would all reach it with probability ${p.allThree.toFixed(3)} (the fall alone; the criterion also asks the training robustness to rise): where that is small, the criterion asks for more overfitting than this size shows, not for another setting of the same kind. ` +
      `The mean fall's 95 % interval, taking the runs as draws of one population, is [${pts(p.interval.lo)}, ${pts(p.interval.hi)}] points: "the typical fall at this size is below ${100 * OVERFIT_FALL} points" ${claimIs(p.belowCriterion)}.`,
  ];
}

/** Seeds the paired premise test asks for (issue: "≥ 6 seeds, its interval excluding 0"). */
export const PREMISE_MIN_SEEDS = 6;

export interface PremiseResult {
  setting: string;
  seeds: number[];
  /** the Best epoch per seed (chosen on the held-out split) */
  bestEpochs: number[];
  /** robust test accuracy at Best minus at Final, paired by image and seed */
  bestVsFinal: PairedDifference;
  /** the interval excludes 0 from above, on at least PREMISE_MIN_SEEDS seeds */
  overfits: boolean;
}

/**
 * The premise test per setting: PGD-AT's robust test accuracy at Best (chosen on held-out training
 * images, never on the test images) against Final, on the same test images, paired by image and
 * seed. Settings whose runs chose Best on the test images, or kept no per-image results, are left out.
 */
export function premiseResults(runs: SearchRun[]): PremiseResult[] {
  const out: PremiseResult[] = [];
  for (const setting of [...new Set(runs.map((r) => r.setting))]) {
    const mine = runs.filter((r) => r.setting === setting && (r.config.validationSize ?? 0) > 0).sort((a, b) => a.seed - b.seed);
    if (!mine.length) continue;
    const [stats] = curveStats(
      mine.map((r) => ({ seed: r.seed, runs: [r.run] })),
      mine[0].config.testSize ?? 0,
    );
    if (!stats.bestVsFinal || stats.bestSelectedOn !== 'validation') continue;
    const c = stats.bestVsFinal;
    out.push({
      setting,
      seeds: mine.map((r) => r.seed),
      bestEpochs: stats.selectedEpochs,
      bestVsFinal: c,
      overfits: mine.length >= PREMISE_MIN_SEEDS && c.verdict === 'holds',
    });
  }
  return out;
}

/** Markdown: the premise test's table (empty when no setting chose Best on held-out images). */
export function premiseSummary(ps: PremiseResult[]): string {
  if (!ps.length) return '';
  return [
    `**Premise (paired):** PGD-AT's robust test accuracy at Best (the epoch chosen on held-out training images) against Final, on the same test images, paired by image and seed; robust overfitting is shown when the 95 % interval lies above 0 on at least ${PREMISE_MIN_SEEDS} seeds.`,
    '',
    '| setting | seeds | Best epochs | Best − Final, paired | verdict |',
    '|---|---|---|---|---|',
    ...ps.map(
      (p) =>
        `| ${p.setting} | ${p.seeds.join(', ')} | ${p.bestEpochs.join(', ')} | ${formatDifference(p.bestVsFinal)} | ${verdictLabel(p.bestVsFinal)}${p.seeds.length < PREMISE_MIN_SEEDS ? ` (fewer than ${PREMISE_MIN_SEEDS} seeds)` : p.overfits ? ': overfits' : ''} |`,
    ),
  ].join('\n');
}
