/**
 * Published numbers regenerate from committed data. results/ holds what finished runs recorded (their
 * config.json, records.jsonl with per-image results, done.json; never weights), and `npm run results`
 * renders docs/results.md and the README's results section from it alone: no training, no dataset, no
 * backend. A test renders them again and fails when the committed documents differ.
 *
 * It mirrors runs/: a run of runs/X/ is committed as results/X/ —
 *   results/overfit-search/overfit/<setting>/seed-<s>/pgd-at/   the overfitting search (notebook 11)
 *   results/pool/overfit/fashion-mnist-cnn-fc/seed-<s>/<method>/ Fig. 1's four at the overfit profile (notebook 02),
 *                                                                with their final evaluations (notebook 03, results-final.ts),
 *                                                                PIAT, NMSE, MAIL (notebooks 03 and 07), Fig. 6's and Fig. 9's
 *
 * `piat results --collect` copies the finished runs from runs/ into results/ first.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from './profiles';
import {
  OVERFIT_SETTING,
  PREMISE_MIN_SEEDS,
  PremiseResult,
  premiseResults,
  premiseSummary,
  SEARCH_SETTINGS,
  searchConfig,
  searchRunDir,
  SearchRun,
  searchVerdict,
} from './overfit-search';
import { PoolConfig, poolRoot, poolSeeds } from './pool';
import { claimLabel, fig1Claims, fig1Config, fig1Summary, fig1Table, Fig1Result, FIG1_METHODS } from './fig1';
import { curveStats, SeededRuns } from './curve-stats';
import { MethodRun, runDirName } from './compare-methods';
import { evalCacheFiles, evalSettingsKey, hasFinalEvaluation } from '../eval/compare-runs';
import { readRecordsFile } from '../train/records';
import { readJson, writeFileAtomic } from '../util/fsx';
import { PiatError } from '../util/errors';
import { replaceMarked } from '../util/markers';
import { describeSchedule } from '../train/lr';
import { pairedDifference, PairedDifference, SeedsByImage, Verdict, verdictLabel } from '../stats';
import { oscillation } from '../analysis/oscillation';
import { PAPER_COST_BENCH, paperCost, paperCostSection } from './paper-cost';
import { formatShort, markdownTable, multiplicityNote, pct, versusCell } from './results-format';
import { FinalEvalRun, finalEvalComparisons, finalEvalLines, finalEvalSection, mostRobust } from './results-final';
import { TABLE1_CORE_METHODS } from './table1';
import { BetaResult, betaClaims, betaLabel, betaSummary, betaTable, FIG9_BETAS } from './sweeps';
import { verificationSection } from './verify-results';
import { FIG9_FIXED, PIAT_FRAMEWORKS, publishedRuns, resultDirOf, RESULTS_DIR, SEEDS, VERSUS_PGD_AT } from './published-runs';

export { FIG9_FIXED, PIAT_FRAMEWORKS, resultDirOf, RESULTS_DIR, VERSUS_PGD_AT };

/** The run files results/ requires of each run (no weights); final evaluations (eval-*.json) are kept where a run has them. */
const KEPT = ['config.json', 'records.jsonl', 'done.json'];

/**
 * Copies every finished published run from runs/ into results/: its config, records and done.json,
 * and its final evaluations of Best and Final where it has them (eval-best-*.json, eval-final-*.json:
 * per-image results, for `piat compare --attack`); returns the folders written.
 */
export function collectResults(resultsDir = RESULTS_DIR): string[] {
  const out: string[] = [];
  for (const r of publishedRuns()) {
    if (!fs.existsSync(path.join(r.runDir, 'done.json'))) continue;
    const to = resultDirOf(r.runDir, resultsDir);
    fs.mkdirSync(to, { recursive: true });
    // only the evaluations under the current settings: an older one would be read as this one
    const settings = evalSettingsKey(r.config.final);
    const evaluations = [...evalCacheFiles(r.runDir, 'best', settings), ...evalCacheFiles(r.runDir, 'final', settings)];
    for (const f of [...KEPT, ...evaluations]) writeFileAtomic(path.join(to, f), fs.readFileSync(path.join(r.runDir, f)));
    out.push(to);
  }
  return out;
}

/** Stable JSON for comparing configs (keys sorted). */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_, x) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x,
  );

/**
 * A committed run's records, or undefined when results/ does not hold it. A run trained under
 * settings other than the current ones is refused, naming it: stale data never feeds a published number.
 */
function loadCommitted(dir: string, config: PoolConfig, what: string): MethodRun | undefined {
  if (!fs.existsSync(dir)) return undefined;
  for (const f of KEPT)
    if (!fs.existsSync(path.join(dir, f)))
      throw new PiatError('missing-file', `${dir}: ${f} is missing (results keep ${KEPT.join(', ')} of each finished run)`);
  const recorded = readJson<{ meta?: { pool?: PoolConfig } }>(path.join(dir, 'config.json')).meta?.pool;
  // the seed list says which seeds a notebook reports, not how this run trained
  const trained = (c: PoolConfig | undefined) => canonical(c && { ...c, seeds: undefined });
  if (trained(recorded) !== trained(config))
    throw new PiatError(
      'bad-value',
      `${dir} was trained under other settings than ${what}'s current ones; collect it again (piat results --collect) or restore the setting`,
    );
  const records = readRecordsFile(dir);
  // as compareMethods builds a run from its records
  return { method: '', records, runDir: dir, oscillation: oscillation(records.map((x) => x.robustAcc ?? 0)) };
}

/** The committed search runs, as SearchRun (records only). */
export function loadSearchResults(resultsDir = RESULTS_DIR): SearchRun[] {
  return SEARCH_SETTINGS.flatMap((s) =>
    SEEDS.flatMap((seed) => {
      const config = searchConfig('overfit', s, seed);
      const run = loadCommitted(resultDirOf(searchRunDir('overfit', s.name, seed), resultsDir), config, s.name);
      return run ? [{ setting: s.name, seed, config, run: { ...run, method: 'PGD-AT' } }] : [];
    }),
  );
}

/** One method's committed run of the overfit pool at a seed, or undefined when results/ does not hold it. */
function loadPoolRun(method: string, seed: number, resultsDir: string): MethodRun | undefined {
  const c = { ...fig1Config('overfit'), seed };
  const run = loadCommitted(
    resultDirOf(path.join(poolRoot('overfit', c), runDirName(method)), resultsDir),
    c,
    `the overfit profile's ${method}`,
  );
  return run && { ...run, method };
}

/**
 * The committed runs of every one of `methods` at each of `seeds` for which all of them are committed
 * (and pass `keep`), in the order of `methods`: how a notebook compares methods, on the same seeds.
 */
function completeSeedRuns(methods: readonly string[], seeds: number[], resultsDir: string, keep = (_: MethodRun) => true): SeededRuns[] {
  return seeds.flatMap((seed) => {
    const runs = methods.map((m) => loadPoolRun(m, seed, resultsDir));
    return runs.every((r): r is MethodRun => r !== undefined && keep(r)) ? [{ seed, runs }] : [];
  });
}

/** The committed Fig. 1 pool at the overfit profile: the seeds for which all four methods are there. */
export function loadFig1Results(resultsDir = RESULTS_DIR): Fig1Result | undefined {
  const c = fig1Config('overfit');
  const seedRuns = completeSeedRuns(FIG1_METHODS, SEEDS, resultsDir);
  if (seedRuns.length < 2) return undefined;
  return {
    profile: 'overfit',
    config: { ...c, seeds: seedRuns.map((x) => x.seed) },
    seedRuns,
    stats: curveStats(seedRuns, c.testSize ?? 0),
  };
}

/**
 * The committed runs of Table I's methods at the overfit profile (notebook 03) that hold their final
 * evaluation of Best and Final under the profile's settings, on the profile's seeds for which all of
 * them do (as the notebook compares them: every method on the same seeds).
 */
export function loadFinalEvalRuns(resultsDir = RESULTS_DIR): FinalEvalRun[] {
  const c = fig1Config('overfit');
  const settings = evalSettingsKey(c.final);
  return completeSeedRuns(TABLE1_CORE_METHODS, poolSeeds(c), resultsDir, (r) => hasFinalEvaluation(r.runDir, settings)).flatMap(
    ({ seed, runs }) => runs.map((r) => ({ method: r.method, seed, dir: r.runDir })),
  );
}

/** A method against a baseline, over the seeds where both are committed. */
export interface Versus {
  method: string;
  base: string;
  seeds: number[];
  /** the method minus the base at Best and at Final, and the method's own Best − Final; paired */
  best?: PairedDifference;
  final?: PairedDifference;
  bestVsFinal?: PairedDifference;
}

/** Each [method, base] pair from the committed overfit pool, over the seeds where both are committed; pairs with none are left out. */
export function loadVersus(pairs: [string, string][], resultsDir = RESULTS_DIR): Versus[] {
  const c = fig1Config('overfit');
  return pairs.flatMap(([method, baseName]) => {
    const seedRuns: SeededRuns[] = SEEDS.flatMap((seed) => {
      const [base, other] = [loadPoolRun(baseName, seed, resultsDir), loadPoolRun(method, seed, resultsDir)];
      return base && other ? [{ seed, runs: [base, other] }] : [];
    });
    if (!seedRuns.length) return [];
    const [base, other] = curveStats(seedRuns, c.testSize ?? 0);
    const paired = (a?: SeedsByImage, b?: SeedsByImage) => (a && b ? pairedDifference(a, b) : undefined);
    return [
      {
        method,
        base: baseName,
        seeds: seedRuns.map((x) => x.seed),
        best: paired(other.bestImages, base.bestImages),
        final: paired(other.finalImages, base.finalImages),
        bestVsFinal: other.bestVsFinal,
      },
    ];
  });
}

/** Each of VERSUS_PGD_AT against PGD-AT. */
export const loadVersusPgdAt = (resultsDir = RESULTS_DIR) =>
  loadVersus(
    VERSUS_PGD_AT.map((m) => [m, 'PGD-AT']),
    resultsDir,
  );

const DYNAMIC_BETA = 'PIAT+NMSE (dynamic β)';

/** The dynamic β against each fixed β: PIAT+NMSE runs paired with each fixed-β run. */
export const loadBetaSchedules = (resultsDir = RESULTS_DIR): Versus[] =>
  loadVersus(
    FIG9_FIXED.map((f) => ['PIAT+NMSE', f]),
    resultsDir,
  ).map((v) => ({ ...v, method: DYNAMIC_BETA }));

/**
 * Fig. 9 as notebook 10 computes it (runBetaSchedules' BetaResult) from the committed runs: every
 * fixed β and the dynamic one, on the profile's seeds for which all of them are committed.
 */
export function loadBetaResult(resultsDir = RESULTS_DIR): BetaResult | undefined {
  const c = fig1Config('overfit');
  const labels = [...FIG9_BETAS, 'dynamic' as const].map(betaLabel);
  // the runs are named as the notebook labels its schedules
  const seedRuns = completeSeedRuns([...FIG9_FIXED, 'PIAT+NMSE'], poolSeeds(c), resultsDir).map(({ seed, runs }) => ({
    seed,
    runs: runs.map((r, i) => ({ ...r, method: labels[i] })),
  }));
  if (!seedRuns.length) return undefined;
  return { profile: 'overfit', seedRuns, stats: curveStats(seedRuns, c.testSize ?? 0), n: c.testSize ?? 0 };
}

/** PIAT around each of PIAT_FRAMEWORKS against the framework alone. */
export const loadPiatFrameworks = (resultsDir = RESULTS_DIR) =>
  loadVersus(
    PIAT_FRAMEWORKS.map((b) => [`PIAT+${b}`, b]),
    resultsDir,
  );

/** A section of paired comparisons: its heading and text, the multiplicity note, and one row per comparison. */
function comparisonSection(
  v: Versus[],
  o: { title: string; text: string; shared: string; heads: [string, string, string, string]; row: (x: Versus) => string },
): string[] {
  if (!v.length) return [];
  const [first, ...rest] = o.heads;
  return [
    `## ${o.title}`,
    '',
    o.text,
    '',
    multiplicityNote(v.length, o.shared),
    '',
    `| ${first} | seeds | ${rest.join(' | ')} |`,
    '|---|---|---|---|---|',
    ...v.map(
      (x) => `| ${o.row(x)} | ${x.seeds.join(', ')} | ${versusCell(x.best)} | ${versusCell(x.final)} | ${versusCell(x.bestVsFinal)} |`,
    ),
    '',
  ];
}

function versusSection(v: Versus[], finalsCommitted: boolean): string[] {
  return comparisonSection(v, {
    title: "Table I's methods at the overfit profile (notebooks 03 and 07), against PGD-AT",
    text: `Robust accuracy under the per-epoch PGD evaluation, paired by test image and seed, on the seeds where both runs are committed (Best chosen on the held-out images). ${finalsCommitted ? 'The final PGD-20/CW/AutoAttack evaluations of notebook 03 are in the next section.' : 'The final PGD-20/CW/AutoAttack evaluations of notebook 03 are not part of the committed data yet.'}`,
    shared: ' (less, as all share the PGD-AT runs)',
    heads: ['method', 'method − PGD-AT at Best', 'method − PGD-AT at Final', 'its own Best − Final'],
    row: (x) => x.method,
  });
}

function frameworksSection(v: Versus[]): string[] {
  const missing = PIAT_FRAMEWORKS.filter((b) => !v.some((x) => x.base === b));
  return comparisonSection(v, {
    title: 'Fig. 6 at the overfit profile (notebook 07): PIAT around each framework',
    text:
      "**Paper (Fig. 6, ResNet-18; Table III):** wrapping ALP, TRADES, MART and MAIL in PIAT raises each one's robust accuracy. Here: PIAT+X − X, robust accuracy under the per-epoch PGD evaluation, paired by test image and seed, on the seeds where both runs are committed (PGD-AT's PIAT is in the table above). The final PGD-20/CW/AutoAttack evaluations are not part of the committed data yet." +
      (missing.length ? ` Not committed yet: ${missing.map((b) => `PIAT+${b} with ${b}`).join(', ')}.` : ''),
    shared: '',
    heads: ['framework', 'PIAT+X − X at Best', 'PIAT+X − X at Final', 'PIAT+X, its own Best − Final'],
    row: (x) => x.base,
  });
}

function betaSection(v: Versus[], r: BetaResult | undefined): string[] {
  const claims = r
    ? [
        `### The notebook's claims, ${r.seedRuns.length} seed${r.seedRuns.length > 1 ? 's' : ''} (${r.seedRuns.map((x) => x.seed).join(', ')}: those for which every schedule is committed)`,
        '',
        ...markdownTable(betaTable(r)),
        '',
        betaSummary(r, 'overfit'),
        '',
      ]
    : [];
  return [
    ...comparisonSection(v, {
      title: 'Fig. 9 at the overfit profile (notebook 10): the dynamic β against each fixed β',
      text: '**Paper (Fig. 9, CIFAR-10, PGD20):** a small fixed β is more robust early and overfits late, a large one does not overfit; the dynamic β of Eq. 10 gets both and ends more robust than every fixed β. Here: PIAT+NMSE with the dynamic β minus PIAT+NMSE with a fixed β, robust accuracy under the per-epoch PGD evaluation, paired by test image and seed, on the seeds where both runs are committed.',
      shared: ' (less, as all share the dynamic-β runs)',
      heads: ['fixed β', 'dynamic − fixed at Best', 'dynamic − fixed at Final', 'dynamic β, its own Best − Final'],
      row: (x) => x.base.replace('PIAT+NMSE ', ''),
    }),
    ...claims,
  ];
}

/** The README's line for Fig. 9: the notebook's three claims with their verdicts. */
function betaLines(r: BetaResult | undefined): string[] {
  const claims = r ? betaClaims(r) : [];
  if (!r || !claims.length) return [];
  return [
    `- Fig. 9 (${r.seedRuns.length} seed${r.seedRuns.length > 1 ? 's' : ''}, overfit profile, per-epoch PGD on ${r.n} test images): ${claims.map((c) => `${c.claim}: **${c.verdict}**`).join('; ')}.`,
  ];
}

function versusLines(v: Versus[]): string[] {
  return v
    .filter((x) => x.final)
    .map(
      (x) =>
        `- ${x.method} ends more robust than ${x.base} (${x.seeds.length} seed${x.seeds.length > 1 ? 's' : ''}, overfit profile, per-epoch PGD): ${formatShort(x.final!)}, **${verdictLabel(x.final!)}**.`,
    );
}

function settingLine(c: PoolConfig): string {
  return `${c.arch}${c.fcWidth ? ` (head ${c.fcWidth})` : ''}, ${c.trainSize} training images, batch ${c.batchSize}, ${c.epochs} epochs, LR ${c.lr} (${describeSchedule(c.lrSchedule)}), weight decay ${c.weightDecay}, ε = ${c.attack.eps}, training PGD-${c.attack.steps}, evaluation PGD-${c.evalAttack.steps} on ${c.testSize} test images every ${c.evalEvery ?? 1} epochs, Best chosen on ${c.validationSize} held-out training images`;
}

/** docs/results.md and the README's results section, from the committed data alone. */
export function renderResults(resultsDir = RESULTS_DIR): { doc: string; readme: string } {
  const runs = loadSearchResults(resultsDir);
  const premise = premiseResults(runs);
  const fig1 = loadFig1Results(resultsDir);
  const versus = loadVersusPgdAt(resultsDir);
  const frameworks = loadPiatFrameworks(resultsDir);
  const betas = loadBetaSchedules(resultsDir);
  const betaResult = loadBetaResult(resultsDir);
  const finalEval = fig1Config('overfit').final;
  const verification = verificationSection(resultsDir);
  const finalRuns = loadFinalEvalRuns(resultsDir);
  const finals = finalEvalComparisons(finalRuns, [...TABLE1_CORE_METHODS], finalEval, 'PGD-AT');
  const most = mostRobust(
    finalRuns,
    'PIAT+NMSE',
    TABLE1_CORE_METHODS.filter((m) => m !== 'PIAT+NMSE'),
    finalEval,
  );
  const header = ['# Results', '', '*Generated by `npm run results` from the data under `results/`; do not edit by hand.*', ''];
  if (!premise.length && !fig1) {
    const none = 'No run with per-image results has been committed under `results/` yet: there are no published numbers.';
    return { doc: [...header, none, ''].join('\n'), readme: none };
  }
  const doc = [
    ...header,
    ...premiseSection(runs, premise),
    ...(fig1 ? fig1Section(fig1) : []),
    ...versusSection(versus, finals.length > 0),
    ...finalEvalSection(finals, most, finalEval, 'PGD-AT', 'PIAT+NMSE'),
    ...frameworksSection(frameworks),
    ...betaSection(betas, betaResult),
    ...verification.doc,
  ].join('\n');
  const readme = [
    `Every verdict below is paired: the same test images, and the same seeds where both sides ran them (details and per-seed numbers in [docs/results.md](docs/results.md)).`,
    '',
    ...premise.map(
      (p) =>
        `- "PGD-AT overfits robustly" at ${p.setting}${p.setting === OVERFIT_SETTING ? ' (the overfit profile)' : ''}, ${p.seeds.length} seeds: Best − Final ${formatShort(p.bestVsFinal)}, **${verdictLabel(p.bestVsFinal)}**${p.seeds.length < PREMISE_MIN_SEEDS ? ` (fewer than ${PREMISE_MIN_SEEDS} seeds)` : ''}.`,
    ),
    ...(fig1 ? fig1Lines(fig1) : []),
    ...versusLines(versus),
    ...finalEvalLines(finals, most, finalEval, 'PIAT+NMSE'),
    ...versusLines(frameworks),
    ...betaLines(betaResult),
    ...verification.lines,
  ].join('\n');
  return { doc, readme };
}

function premiseSection(runs: SearchRun[], premise: PremiseResult[]): string[] {
  if (!premise.length) return [];
  return [
    "## Does PGD-AT overfit robustly here? (the paper's premise, offline)",
    '',
    `Fashion-MNIST (the data these machines have), PGD-AT; each setting trained with ${[...new Set(premise.map((p) => p.seeds.length))].join(' or ')} seeds. Regenerate the runs with \`node dist/src/cli.js overfit-search --profile overfit --settings <setting> --seeds <seeds>\`, then \`node dist/src/cli.js results --collect\`.`,
    '',
    premiseSummary(premise),
    '',
    '### The settings',
    '',
    ...premise.map((p) => `- **${p.setting}**: ${settingLine(runs.find((r) => r.setting === p.setting)?.config as PoolConfig)}.`),
    '',
    '### Per seed (robust test accuracy, percent; a description: the verdict above is the paired test)',
    '',
    '| setting | seed | Best epoch | robust at Best | robust at Final | peak of the curve (epoch) | robust on training images at the end |',
    '|---|---|---|---|---|---|---|',
    ...premise.flatMap((p) =>
      p.seeds.map((seed, i) => {
        const r = runs.find((x) => x.setting === p.setting && x.seed === seed) as SearchRun;
        const v = searchVerdict(r);
        const best = r.run.records.find((e) => e.epoch === p.bestEpochs[i]);
        return `| ${p.setting} | ${seed} | ${p.bestEpochs[i]} | ${pct(best?.robustAcc ?? null)} | ${pct(v.final)} | ${pct(v.peak)} (${v.peakEpoch}) | ${pct(v.trainFinal)} |`;
      }),
    ),
    '',
  ];
}

function fig1Section(r: Fig1Result): string[] {
  return [
    `## Fig. 1 at the overfit profile (notebook 02), ${r.seedRuns.length} seeds`,
    '',
    `PGD-AT, TRADES, MART and PIAT+NMSE at the overfit profile, seeds ${r.seedRuns.map((x) => x.seed).join(', ')} (the seeds for which all four are committed). Regenerate: \`PIAT_PROFILE=overfit npm run notebooks -- notebooks/02-oscillation-curves.ipynb\`, then \`node dist/src/cli.js results --collect\`.`,
    '',
    ...markdownTable(fig1Table(r)),
    '',
    fig1Summary(r),
    '',
  ];
}

function fig1Lines(r: Fig1Result): string[] {
  const c = fig1Claims(r);
  const line = (claim: string, key: string, v: Record<string, Verdict>) =>
    `- Fig. 1 (${r.seedRuns.length} seeds), ${claim}: ${Object.entries(v)
      .map(([m, x]) => `${m} ${claimLabel(c, key, m, x)}`)
      .join(', ')}.`;
  return [
    line('robust accuracy falls after its peak (Best vs Final)', 'falls', c.overfits),
    line('PIAT+NMSE ends more robust than', 'ends higher', c.piatEndsHigher),
  ];
}

/** The README with its results section replaced (between the results markers). */
export function withReadmeSection(readme: string, section: string): string {
  return replaceMarked(readme, 'results', section, 'README.md');
}

/** The README with its paper-profile cost table replaced (paper-cost.ts). */
export function withCostSection(readme: string, section: string): string {
  return replaceMarked(readme, 'paper-cost', section, 'README.md');
}

/** What the notebook runner reads at the paper profile: each notebook's projected hours and cell timeout. */
export const PAPER_COST_FILE = path.join(RESULTS_DIR, 'paper-cost.json');

export const RESULTS_DOC = path.join(PROJECT_ROOT, 'docs', 'results.md');
export const README = path.join(PROJECT_ROOT, 'README.md');

/**
 * Writes docs/results.md, the README's results and paper-cost sections and results/paper-cost.json;
 * with `check`, writes nothing and returns the files that differ.
 */
export function writeResults(o: { check?: boolean; resultsDir?: string; doc?: string; readme?: string } = {}): string[] {
  const { doc, readme } = renderResults(o.resultsDir);
  const docFile = o.doc ?? RESULTS_DOC;
  const readmeFile = o.readme ?? README;
  const costs = paperCost();
  const costFile = o.resultsDir ? path.join(o.resultsDir, 'paper-cost.json') : PAPER_COST_FILE;
  const want: [string, string][] = [
    [docFile, doc],
    [readmeFile, withCostSection(withReadmeSection(fs.readFileSync(readmeFile, 'utf8'), readme), paperCostSection(costs))],
    [costFile, JSON.stringify({ bench: path.relative(PROJECT_ROOT, PAPER_COST_BENCH), notebooks: costs }, null, 2) + '\n'],
  ];
  const differ = want.filter(([f, text]) => !fs.existsSync(f) || fs.readFileSync(f, 'utf8') !== text).map(([f]) => f);
  if (!o.check) for (const [f, text] of want) if (differ.includes(f)) writeFileAtomic(f, text);
  return differ;
}
