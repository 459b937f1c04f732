/**
 * Published numbers regenerate from committed data. results/ holds what finished runs recorded (their
 * config.json, records.jsonl with per-image results, done.json; never weights), and `npm run results`
 * renders docs/results.md and the README's results section from it alone: no training, no dataset, no
 * backend. A test renders them again and fails when the committed documents differ.
 *
 *   results/overfit-search/<setting>/seed-<s>/   PGD-AT runs of the overfitting search (notebook 11)
 *
 * `piat results --collect` copies the finished runs from runs/ into results/ first.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from './profiles';
import {
  PREMISE_MIN_SEEDS,
  premiseResults,
  premiseSummary,
  SEARCH_SETTINGS,
  searchConfig,
  searchRunDir,
  searchRunState,
  SearchRun,
  searchVerdict,
} from './overfit-search';
import { PoolConfig } from './pool';
import { readRecordsFile } from '../train/records';
import { readJson, writeFileAtomic } from '../util/fsx';
import { PiatError } from '../util/errors';
import { describeSchedule } from '../train/lr';
import { verdictLabel } from '../stats';
import { oscillation } from '../analysis/oscillation';

export const RESULTS_DIR = path.join(PROJECT_ROOT, 'results');
/** The run files results/ keeps (no weights). */
const KEPT = ['config.json', 'records.jsonl', 'done.json'];
const README_START = '<!-- results:start -->';
const README_END = '<!-- results:end -->';

/** Where a search run's committed files live. */
function searchResultDir(resultsDir: string, setting: string, seed: number): string {
  return path.join(resultsDir, 'overfit-search', setting, `seed-${seed}`);
}

/** Copies every finished run of the search (overfit profile) from runs/ into results/; returns the folders written. */
export function collectResults(resultsDir = RESULTS_DIR, seeds = Array.from({ length: 10 }, (_, i) => i + 1)): string[] {
  const out: string[] = [];
  for (const s of SEARCH_SETTINGS) {
    for (const seed of seeds) {
      if (searchRunState('overfit', s.name, seed) !== 'finished') continue;
      const from = searchRunDir('overfit', s.name, seed);
      const to = searchResultDir(resultsDir, s.name, seed);
      fs.mkdirSync(to, { recursive: true });
      for (const f of KEPT) writeFileAtomic(path.join(to, f), fs.readFileSync(path.join(from, f)));
      out.push(to);
    }
  }
  return out;
}

/** Stable JSON for comparing configs (keys sorted). */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_, x) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x,
  );

/**
 * The committed search runs, as SearchRun (records only). A run trained under settings other than
 * the setting's current ones is refused, naming it: stale data never feeds a published number.
 */
export function loadSearchResults(resultsDir = RESULTS_DIR): SearchRun[] {
  const root = path.join(resultsDir, 'overfit-search');
  if (!fs.existsSync(root)) return [];
  const out: SearchRun[] = [];
  for (const setting of fs.readdirSync(root).sort()) {
    const s = SEARCH_SETTINGS.find((x) => x.name === setting);
    if (!s)
      throw new PiatError(
        'bad-value',
        `${path.join(root, setting)}: no search setting '${setting}' (src/experiments/overfit-search.ts); remove the folder or restore the setting`,
      );
    const seedDirs = fs.readdirSync(path.join(root, setting)).filter((d) => /^seed-\d+$/.test(d));
    for (const d of seedDirs.sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))) {
      const seed = Number(d.slice(5));
      const dir = path.join(root, setting, d);
      for (const f of KEPT)
        if (!fs.existsSync(path.join(dir, f)))
          throw new PiatError('missing-file', `${dir}: ${f} is missing (results keep ${KEPT.join(', ')} of each finished run)`);
      const config = searchConfig('overfit', s, seed);
      const recorded = readJson<{ meta?: { pool?: PoolConfig } }>(path.join(dir, 'config.json')).meta?.pool;
      // the seed list says which seeds a notebook reports, not how this run trained
      const trained = (c: PoolConfig | undefined) => canonical(c && { ...c, seeds: undefined });
      if (trained(recorded) !== trained(config))
        throw new PiatError(
          'bad-value',
          `${dir} was trained under other settings than ${setting}'s current ones; collect it again (piat results --collect) or restore the setting`,
        );
      const records = readRecordsFile(dir);
      // as compareMethods builds a run from its records
      out.push({
        setting,
        seed,
        config,
        run: { method: 'PGD-AT', records, runDir: dir, oscillation: oscillation(records.map((x) => x.robustAcc ?? 0)) },
      });
    }
  }
  return out;
}

const pct = (v: number | null) => (v === null ? '–' : (100 * v).toFixed(1));

function settingLine(c: PoolConfig): string {
  return `${c.arch}${c.fcWidth ? ` (head ${c.fcWidth})` : ''}, ${c.trainSize} training images, batch ${c.batchSize}, ${c.epochs} epochs, LR ${c.lr} (${describeSchedule(c.lrSchedule)}), weight decay ${c.weightDecay}, ε = ${c.attack.eps}, training PGD-${c.attack.steps}, evaluation PGD-${c.evalAttack.steps} on ${c.testSize} test images every ${c.evalEvery ?? 1} epochs, Best chosen on ${c.validationSize} held-out training images`;
}

/** docs/results.md and the README's results section, from the committed data alone. */
export function renderResults(resultsDir = RESULTS_DIR): { doc: string; readme: string } {
  const runs = loadSearchResults(resultsDir);
  const premise = premiseResults(runs);
  const header = ['# Results', '', '*Generated by `npm run results` from the data under `results/`; do not edit by hand.*', ''];
  if (!premise.length) {
    const none = 'No run with per-image results has been committed under `results/` yet: there are no published numbers.';
    return { doc: [...header, none, ''].join('\n'), readme: none };
  }
  const doc = [
    ...header,
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
  ].join('\n');
  const lines = premise.map(
    (p) =>
      `- ${p.setting} (${p.seeds.length} seeds): Best − Final ${formatShort(p)}, **${verdictLabel(p.bestVsFinal)}**${p.seeds.length < PREMISE_MIN_SEEDS ? ` (fewer than ${PREMISE_MIN_SEEDS} seeds)` : ''}.`,
  );
  const readme = [
    `Robust overfitting of PGD-AT on Fashion-MNIST, judged paired (Best chosen on held-out images against Final, on the same test images; details and per-seed numbers in [docs/results.md](docs/results.md)):`,
    '',
    ...lines,
  ].join('\n');
  return { doc, readme };
}

function formatShort(p: { bestVsFinal: { diff: number; interval: { lo: number; hi: number }; n: number } }): string {
  const s = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(1)}`;
  const c = p.bestVsFinal;
  return `${s(c.diff)} points, 95 % interval [${s(c.interval.lo)}, ${s(c.interval.hi)}] on ${c.n} test images`;
}

/** The README with its results section replaced (between the markers). */
export function withReadmeSection(readme: string, section: string): string {
  const a = readme.indexOf(README_START);
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a) throw new PiatError('bad-value', `README.md has no results section between ${README_START} and ${README_END}`);
  return `${readme.slice(0, a + README_START.length)}\n${section}\n${readme.slice(b)}`;
}

export const RESULTS_DOC = path.join(PROJECT_ROOT, 'docs', 'results.md');
export const README = path.join(PROJECT_ROOT, 'README.md');

/** Writes docs/results.md and the README's section; with `check`, writes nothing and returns the files that differ. */
export function writeResults(o: { check?: boolean; resultsDir?: string; doc?: string; readme?: string } = {}): string[] {
  const { doc, readme } = renderResults(o.resultsDir);
  const docFile = o.doc ?? RESULTS_DOC;
  const readmeFile = o.readme ?? README;
  const want: [string, string][] = [
    [docFile, doc],
    [readmeFile, withReadmeSection(fs.readFileSync(readmeFile, 'utf8'), readme)],
  ];
  const differ = want.filter(([f, text]) => !fs.existsSync(f) || fs.readFileSync(f, 'utf8') !== text).map(([f]) => f);
  if (!o.check) for (const [f, text] of want) if (differ.includes(f)) writeFileAtomic(f, text);
  return differ;
}
