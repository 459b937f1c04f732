/**
 * The paper's reproduction from a shell: the toy example, the search for a robust-overfitting
 * setting, the results page regenerated from committed data, and the notebooks rendered to reports/.
 */
import * as path from 'path';
import { spawnSync } from 'child_process';
import { initBackend } from '../backend';
import { PiatError } from '../util/errors';
import { writeFileAtomic } from '../util/fsx';
import { renderSvg } from '../plots/render';
import { PROJECT_ROOT } from '../experiments/profiles';
import { runToyExperiment, toySummary } from '../experiments/toy';
import { collectResults, RESULTS_DIR, writeResults } from '../experiments/results';
import { verifyResults } from '../experiments/verify-results';
import {
  premiseResults,
  premiseSummary,
  runOverfitSearch,
  searchFigure,
  searchSummary,
  searchVerdict,
  unfinishedNote,
  unfinishedSearchRuns,
} from '../experiments/overfit-search';
import { numberValue } from './args';
import { Call } from './call';
import { PAPER_COST_BENCH, paperCost, paperCostSection, readBench } from '../experiments/paper-cost';

export async function toyCommand({ a, profile, backend }: Call): Promise<number> {
  await initBackend(backend);
  const runs = await runToyExperiment(profile);
  if (a.flag('json'))
    console.log(
      JSON.stringify(
        runs.map((r) => ({ method: r.method, runDir: r.runDir, oscillation: r.oscillation, final: r.records[r.records.length - 1] })),
        null,
        2,
      ),
    );
  else console.log(toySummary(runs));
  return 0;
}

export async function overfitSearchCommand({ a, profile, backend }: Call): Promise<number> {
  // each seed checked like a number option: a non-negative integer, or a clear error naming it
  const seeds = a.list('seeds')?.map((x) => numberValue('seeds', x, { integer: true, min: 0 }));
  const settings = a.list('settings');
  const finishedOnly = a.flag('finished');
  const svg = a.str('svg');
  await initBackend(backend);
  const runs = await runOverfitSearch(profile, { settings, seeds, finishedOnly });
  const verdicts = runs.map(searchVerdict);
  const premise = premiseResults(runs);
  if (a.flag('json')) console.log(JSON.stringify({ verdicts, premise }, null, 2));
  else console.log([searchSummary(verdicts), premiseSummary(premise)].filter(Boolean).join('\n\n'));
  if (svg !== undefined) {
    writeFileAtomic(svg, await renderSvg(searchFigure(runs)));
    console.error(`wrote ${svg} (${runs.length} runs)`);
  }
  if (finishedOnly)
    (a.flag('json') ? console.error : console.log)('\n' + unfinishedNote(profile, unfinishedSearchRuns(profile, settings, seeds)));
  return 0;
}

export async function resultsCommand({ a, backend }: Call): Promise<number> {
  const [collect, check, verify] = [a.flag('collect'), a.flag('check'), a.flag('verify')];
  if (check && (collect || verify))
    throw new PiatError('bad-option', `results: --${collect ? 'collect' : 'verify'} changes results/, --check only compares; use one`);
  if (!verify && (a.given('epochs') || a.given('runs') || a.given('unchecked')))
    throw new PiatError('bad-option', 'results: --epochs, --runs and --unchecked go with --verify');
  if (collect)
    console.error(`results: collected ${collectResults().length} finished run(s) into ${path.relative(process.cwd(), RESULTS_DIR) || '.'}`);
  if (verify) {
    await initBackend(backend);
    const epochs = a.num('epochs', { integer: true, min: 1 }) ?? 2;
    const checked = await verifyResults({
      epochs,
      match: a.str('runs'),
      unchecked: a.flag('unchecked'),
      progress: false,
      onRun: (v, i, n) =>
        console.error(`results: ${i + 1}/${n} ${v.run}: ${v.identical ? `regenerates (${v.epochs} epochs)` : `differs: ${v.difference}`}`),
    });
    if (!checked.length) console.error('results: every committed run asked for already has a current check (results/verification.json)');
  }
  const differ = writeResults({ check });
  const rel = differ.map((f) => path.relative(process.cwd(), f));
  if (check) {
    if (differ.length)
      throw new PiatError(
        'bad-value',
        `results: ${rel.join(' and ')} differ from what the data under results/ gives; run npm run results and commit`,
      );
    console.log('results: docs/results.md and the README match the committed data');
  } else console.log(differ.length ? `results: wrote ${rel.join(', ')}` : 'results: documents already match the committed data');
  return 0;
}

/** `piat paper-cost [--bench FILE]`: the README's paper-profile cost table, from any bench result (a GPU machine's own). */
export function paperCostCommand({ a }: Call): number {
  const bench = a.str('bench') ?? PAPER_COST_BENCH;
  console.log(paperCostSection(paperCost(readBench(bench)), bench));
  return 0;
}

export function reportCommand({ a, profile, backend }: Call): number {
  const r = spawnSync(
    '/usr/bin/python3',
    [path.join(PROJECT_ROOT, 'scripts', 'run_notebooks.py'), '--profile', profile, ...a.positionals],
    {
      stdio: 'inherit',
      env: { ...process.env, ...(backend.backend ? { PIAT_BACKEND: backend.backend } : {}) },
    },
  );
  if (r.error)
    throw new PiatError('no-jupyter', `Could not start the notebook runner (${r.error.message}); run 'bash scripts/setup.sh' first.`);
  return r.status ?? 1;
}
