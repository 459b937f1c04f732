#!/usr/bin/env node
/**
 * piat: the library's jobs from a shell, without Jupyter.
 *   piat backend                      which tfjs backend loads here, and why others did not
 *   piat toy [--profile P] [--json]   train the toy example's five methods, print the summary
 *   piat report [--profile P] [NB…]   execute notebooks and render reports/*.html
 *   piat train | sweep | eval | fetch | schema   (see usage())
 *   piat sweep --slurm … | sweep-status DIR | sweep-collect DIR   a grid as a Slurm array job (src/sweep)
 * Every option is checked before any work starts: unknown options are named (with a suggestion),
 * numbers must be numbers in range.
 * Global: --backend torch|tensorflow|wasm|cpu (or PIAT_BACKEND), --profile (or PIAT_PROFILE).
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { initBackend, BACKEND_NAMES } from './backend';
import { PiatError, oneOf } from './util/errors';
import { PROFILES, Profile, profileFromEnv, PROJECT_ROOT } from './experiments/profiles';
import { runToyExperiment, toySummary } from './experiments/toy';
import { fetchDataset, OFFICIAL } from './data/fetch';
import { parseShard, trainFromConfig, validateRunConfig } from './train/run-config';
import { runConfigJsonSchema, SCHEMA_FILE, writeRunConfigJsonSchema } from './train/run-config-schema';
import { stopOnSigint, Interrupt } from './train/interrupt';
import { closest } from './util/schema';
import { loadModel } from './train/model-io';
import { DEFAULT_ATTACKS, evaluate } from './eval/evaluate';
import { attackNamePatterns, resolveAttack } from './attacks/registry';
import { checkModel } from './eval/checks';
import { defaultStep, PAPER_THREAT } from './settings';
import { DATASETS, loadDataset } from './data/images';
import { SLURM_FLAGS, slurmOptionsFromFlags } from './sweep/slurm';
import { gridPoints, slurmConfigSweep, sweepRoot } from './sweep/config-sweep';
import { formatStatus, submitUnfinished, sweepStatus } from './sweep/status';
import { collectSweep, formatCollected, writeCollected } from './sweep/collect';
import { runSweepTask } from './sweep/task';
import { trainPoolJob } from './experiments/pool';
import { PoolJob } from './sweep/folder';
import { writeFileAtomic } from './util/fsx';
import { renderSvg } from './plots/render';
import { compareRuns, Checkpoint } from './eval/compare-runs';
import { collectResults, RESULTS_DIR, writeResults } from './experiments/results';
import { formatDifference, verdictLabel } from './stats';
import {
  premiseResults,
  premiseSummary,
  runOverfitSearch,
  searchFigure,
  searchSummary,
  searchVerdict,
  unfinishedNote,
  unfinishedSearchRuns,
} from './experiments/overfit-search';

const COMMANDS = [
  'backend',
  'toy',
  'overfit-search',
  'compare',
  'results',
  'train',
  'sweep',
  'sweep-status',
  'sweep-collect',
  'sweep-task',
  'pool-task',
  'eval',
  'report',
  'fetch',
  'schema',
  'help',
] as const;

/** The options each command reads (besides the global --backend and --profile). */
const FLAGS: Record<string, string[]> = {
  help: [],
  toy: ['json'],
  'overfit-search': ['settings', 'seeds', 'finished', 'svg', 'json'],
  results: ['collect', 'check'],
  compare: ['a', 'b', 'which', 'best-vs-final', 'attack', 'metric', 'json'],
  train: ['config'],
  sweep: ['config', 'grid', 'shard', 'slurm', 'dry-run', ...SLURM_FLAGS],
  'sweep-status': ['resubmit-failed', 'json'],
  'sweep-collect': ['out', 'json'],
  'sweep-task': ['index'],
  'pool-task': [],
  eval: ['checkpoint', 'data', 'data-dir', 'attacks', 'n', 'eps', 'alpha', 'json'],
  fetch: ['dir'],
  report: [],
  schema: ['write', 'out'],
};

/** Refuses an option the command does not read: a misspelt --epsilon would otherwise be ignored. */
function checkFlags(command: string, flags: Record<string, string | true>): void {
  const known = FLAGS[command];
  if (!known) return;
  const allowed = [...known, 'backend', 'profile'];
  for (const f of Object.keys(flags)) {
    if (!allowed.includes(f))
      throw new PiatError(
        'bad-option',
        `${command}: unknown option --${f}${closest(f, allowed).replace(/did you mean (\S+)\?/, 'did you mean --$1?')}`,
      );
  }
}

/** A string-valued option (a bare `--dir` without a value is an error). */
function stringFlag(flags: Record<string, string | true>, name: string): string | undefined {
  const v = flags[name];
  if (v === true) throw new PiatError('bad-option', `--${name} needs a value`);
  return v;
}

/** A number option, checked: `--n abc`, `--n 0`, `--eps -1` are errors naming the option. */
export function numberFlag(
  flags: Record<string, string | true>,
  name: string,
  o: { integer?: boolean; min?: number; above?: number },
): number | undefined {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return undefined;
  const v = Number(raw);
  const want = `${o.integer ? 'a whole number' : 'a number'}${o.min !== undefined ? ` >= ${o.min}` : ''}${o.above !== undefined ? ` > ${o.above}` : ''}`;
  const ok =
    raw.trim() !== '' &&
    Number.isFinite(v) &&
    (!o.integer || Number.isInteger(v)) &&
    (o.min === undefined || v >= o.min) &&
    (o.above === undefined || v > o.above);
  if (!ok) throw new PiatError('bad-option', `--${name} must be ${want}, got '${raw}'`);
  return v;
}

interface Args {
  command: string;
  flags: Record<string, string | true>;
  rest: string[];
}

export function parseArgs(argv: string[]): Args {
  const [command = 'help', ...tail] = argv;
  const flags: Record<string, string | true> = {};
  const rest: string[] = [];
  for (let i = 0; i < tail.length; i++) {
    const a = tail[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      if (v !== undefined) flags[k] = v;
      else if (tail[i + 1] !== undefined && !tail[i + 1].startsWith('--')) flags[k] = tail[++i];
      else flags[k] = true;
    } else rest.push(a);
  }
  return { command, flags, rest };
}

function usage(): string {
  return [
    'usage: piat <command> [options]',
    '  backend                          show the tfjs backend that loads here',
    '  toy [--profile P] [--json]       train the toy example (Sec. III-A) and print the comparison',
    "  results [--collect] [--check]  regenerate docs/results.md and the README's results section from the committed data under results/ (--collect: first copy the finished search runs from runs/ into results/; --check: write nothing, exit 1 when a document differs)",
    '  compare --a RUNS [--b RUNS] [--which final|best] [--best-vs-final] [--attack NAME] [--metric robust|clean] [--json]  A minus B, paired by image (and by seed where both ran it), with its 95% interval, seed and image parts and verdict; RUNS: run folders, comma-separated, one per seed; per-epoch results at the Best or last evaluated epoch, or --attack: the final evaluation (eval-<which>-*.json); --best-vs-final: the runs of --a at Best against the same runs at Final (robust overfitting)',
    '  overfit-search [--settings a,b] [--seeds 1,2,3] [--profile P] [--finished] [--svg FILE] [--json]  train PGD-AT in the search settings (notebook 11) and apply the overfitting criterion; --finished: only re-open finished runs (seeds 1,2,3 unless --seeds), train nothing; --svg: their curves in one figure',
    '  report [--profile P] [notebook…] execute notebooks, render reports/<name>.html and reports/index.html',
    '  train --config run.json          train one run (resumes if its runDir holds a checkpoint)',
    '  sweep --config run.json --grid key.path=v1,v2 [--grid …] [--shard i/n]  one run per grid point, runDir/<point>',
    '  sweep … --slurm [--partition P] [--gres gpu:1] [--time 12:00:00] [--cpus-per-task N] [--max-parallel K] [--dry-run]',
    '                                   write runDir/slurm/sweep.sbatch (a Slurm array task per point) and submit it with sbatch',
    '  sweep-status DIR [--resubmit-failed] [--json]  each point pending, running, done or failed; submit the failed ones again',
    "  sweep-collect DIR [--out PREFIX] [--json]  every point's settings and metrics → DIR/results.json and .csv",
    '  sweep-task DIR --index I         train point I of a sweep (what each Slurm array task runs)',
    '  pool-task JOB.json               train one notebook-pool run (what each PIAT_SWEEP=workers process runs)',
    '  eval --checkpoint DIR --data NAME [--data-dir D] [--attacks clean,pgd20,cw20,aa] [--n N] [--eps E (8/255)] [--alpha A (ε/4)] [--json]  robust accuracy of saved weights, after checks that warn about softmax outputs, randomness and zero gradients (aa resumes if interrupted)',
    `                                   attacks: ${attackNamePatterns().join(', ')} (N = steps)`,
    '  fetch cifar10|cifar100|svhn [--dir D]  download the official files (needs internet), verify MD5, unpack into datasets/<name>/',
    "  schema [--write | --out FILE]    the run config's JSON Schema (--write: schema/run-config.schema.json)",
    `options: --backend ${BACKEND_NAMES.join('|')}  --profile ${PROFILES.join('|')}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  const command = oneOf('command', a.command, COMMANDS);
  checkFlags(command, a.flags);
  const profile: Profile = typeof a.flags.profile === 'string' ? oneOf('profile', a.flags.profile, PROFILES) : profileFromEnv('quick');
  const backendOpt = typeof a.flags.backend === 'string' ? { backend: a.flags.backend } : {};
  switch (command) {
    case 'help':
      console.log(usage());
      return 0;
    case 'backend': {
      console.log(JSON.stringify(await initBackend(backendOpt), null, 2));
      return 0;
    }
    case 'toy': {
      await initBackend(backendOpt);
      const runs = await runToyExperiment(profile);
      if (a.flags.json)
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
    case 'overfit-search': {
      await initBackend(backendOpt);
      const list = (f: string | true | undefined) =>
        typeof f === 'string'
          ? f
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean)
          : undefined;
      // each seed checked like a numeric flag: a non-negative integer, or a clear error naming it
      const seeds = list(a.flags.seeds)?.map((x) => numberFlag({ seeds: x }, 'seeds', { integer: true, min: 0 }) as number);
      const settings = list(a.flags.settings);
      const finishedOnly = flagSet(a.flags, 'finished');
      if (a.flags.svg !== undefined && typeof a.flags.svg !== 'string')
        throw new PiatError('bad-option', '--svg takes the file to write, e.g. --svg overfit-search.svg');
      const runs = await runOverfitSearch(profile, { settings, seeds, finishedOnly });
      const verdicts = runs.map(searchVerdict);
      const premise = premiseResults(runs);
      if (a.flags.json) console.log(JSON.stringify({ verdicts, premise }, null, 2));
      else console.log([searchSummary(verdicts), premiseSummary(premise)].filter(Boolean).join('\n\n'));
      if (typeof a.flags.svg === 'string') {
        writeFileAtomic(a.flags.svg, await renderSvg(searchFigure(runs)));
        console.error(`wrote ${a.flags.svg} (${runs.length} runs)`);
      }
      if (finishedOnly)
        (a.flags.json ? console.error : console.log)('\n' + unfinishedNote(profile, unfinishedSearchRuns(profile, settings, seeds)));
      return 0;
    }
    case 'results': {
      if (flagSet(a.flags, 'collect') && flagSet(a.flags, 'check'))
        throw new PiatError('bad-option', 'results: --collect changes results/, --check only compares; use one');
      if (flagSet(a.flags, 'collect'))
        console.error(
          `results: collected ${collectResults().length} finished run(s) into ${path.relative(process.cwd(), RESULTS_DIR) || '.'}`,
        );
      const differ = writeResults({ check: flagSet(a.flags, 'check') });
      const rel = differ.map((f) => path.relative(process.cwd(), f));
      if (flagSet(a.flags, 'check')) {
        if (differ.length)
          throw new PiatError(
            'bad-value',
            `results: ${rel.join(' and ')} differ from what the data under results/ gives; run npm run results and commit`,
          );
        console.log('results: docs/results.md and the README match the committed data');
      } else console.log(differ.length ? `results: wrote ${rel.join(', ')}` : 'results: documents already match the committed data');
      return 0;
    }
    case 'compare': {
      const dirs = (name: string) =>
        stringFlag(a.flags, name)
          ?.split(',')
          .map((x) => x.trim())
          .filter(Boolean);
      const runsA = dirs('a');
      if (!runsA?.length) throw new PiatError('bad-option', 'compare: --a names the run folders of side A (comma-separated, one per seed)');
      const bestVsFinal = flagSet(a.flags, 'best-vs-final');
      if (bestVsFinal && (a.flags.b !== undefined || a.flags.which !== undefined))
        throw new PiatError('bad-option', 'compare: --best-vs-final compares the runs of --a with themselves; leave out --b and --which');
      const runsB = bestVsFinal ? runsA : dirs('b');
      if (!runsB?.length) throw new PiatError('bad-option', 'compare: --b names the run folders of side B (or use --best-vs-final)');
      const which = oneOf('--which', stringFlag(a.flags, 'which') ?? 'final', ['best', 'final'] as const) as Checkpoint;
      const metric = oneOf('--metric', stringFlag(a.flags, 'metric') ?? 'robust', ['robust', 'clean'] as const);
      const attack = stringFlag(a.flags, 'attack');
      if (attack) resolveAttack(attack);
      const side = (w: Checkpoint) => ({ which: w, metric, attack });
      const c = compareRuns(runsA, runsB, bestVsFinal ? { a: side('best'), b: side('final') } : { a: side(which), b: side(which) });
      const what = `${attack ?? `per-epoch ${metric}`} accuracy, ${bestVsFinal ? 'Best − Final' : `A − B at ${which}`}`;
      if (a.flags.json) console.log(JSON.stringify({ what, ...c }, null, 2));
      else {
        const pts = (v: number) => (Number.isNaN(v) ? 'unknown' : `${(100 * Math.sqrt(v)).toFixed(2)} pts`);
        console.log(`${what}: ${formatDifference(c, 2)}`);
        console.log(`verdict on "${bestVsFinal ? 'Best is higher than Final' : 'A is higher than B'}": ${verdictLabel(c)}`);
        console.log(
          `standard errors: seeds ${pts(c.seedVariance)}, images ${pts(c.imageVariance)}; df ${c.df.toFixed(1)}; ${c.discordant} of ${c.n} images differ between the sides`,
        );
      }
      return 0;
    }
    case 'train': {
      const cfg = readConfig(a.flags.config);
      validateRunConfig(cfg);
      await initBackend(backendOpt);
      const stop = stopOnSigint();
      await runFromConfig(cfg, stop);
      stop.dispose();
      return 0;
    }
    case 'sweep': {
      const base = readConfig(a.flags.config);
      const shard = typeof a.flags.shard === 'string' ? parseShard(a.flags.shard) : { index: 0, count: 1 };
      const slurm = flagSet(a.flags, 'slurm');
      if (!slurm) {
        const stray = [...SLURM_FLAGS, 'dry-run'].find((f) => a.flags[f] !== undefined);
        if (stray) throw new PiatError('bad-option', `sweep: --${stray} is a Slurm option; add --slurm`);
      }
      const points = gridPoints(base, argvAll(argv, '--grid'), (k) => slurm || k % shard.count === shard.index);
      if (slurm) {
        // Slurm's array does the splitting; nothing trains here, so no backend is started
        if (a.flags.shard !== undefined)
          throw new PiatError('bad-option', 'sweep: --shard and --slurm do not go together (each Slurm array task takes one point)');
        const r = slurmConfigSweep(points, slurmOptionsFromFlags(a.flags), {
          dir: sweepRoot(base),
          dryRun: flagSet(a.flags, 'dry-run'),
          backend: backendOpt.backend,
        });
        console.error(`wrote ${r.script} (${r.points} points, one array task each)`);
        if (flagSet(a.flags, 'dry-run')) console.log(`dry run: nothing submitted; submit with: sbatch ${r.script}`);
        else if (r.jobId)
          console.log(
            `submitted batch job ${r.jobId}: ${r.submitted.length} points${r.skipped ? ` (${r.skipped} already done, queued or running)` : ''}; follow it with: piat sweep-status ${r.dir}`,
          );
        else console.log(`nothing to submit: all ${r.points} points are done, queued or running (piat sweep-status ${r.dir})`);
        return 0;
      }
      await initBackend(backendOpt);
      const stop = stopOnSigint();
      for (let k = 0; k < points.length; k++) {
        if (k % shard.count !== shard.index) continue;
        console.error(`sweep point ${k + 1}/${points.length}: ${points[k].tag}`);
        if ((await runFromConfig(points[k].config, stop)).stopped) break;
      }
      stop.dispose();
      return 0;
    }
    case 'sweep-status': {
      const json = flagSet(a.flags, 'json');
      const resubmit = flagSet(a.flags, 'resubmit-failed');
      const dir = sweepDirArg(a.rest);
      if (resubmit) {
        const r = submitUnfinished(dir);
        if (r.jobId)
          console.error(`submitted batch job ${r.jobId}: points ${r.submitted.map((x) => `${x.index} (${x.state})`).join(', ')}`);
        else console.error('nothing to resubmit: no point has failed or is unsubmitted');
      }
      const s = sweepStatus(dir);
      console.log(json ? JSON.stringify({ dir: s.dir, points: s.points, notes: s.notes }, null, 2) : formatStatus(s));
      return 0;
    }
    case 'sweep-collect': {
      const json = flagSet(a.flags, 'json');
      const dir = sweepDirArg(a.rest);
      const rows = collectSweep(dir);
      const files = writeCollected(dir, rows, stringFlag(a.flags, 'out'));
      console.error(`wrote ${files.json} and ${files.csv} (${rows.length} points)`);
      console.log(json ? JSON.stringify(rows, null, 2) : formatCollected(rows));
      return 0;
    }
    case 'sweep-task': {
      const dir = sweepDirArg(a.rest);
      const index = numberFlag(a.flags, 'index', { integer: true, min: 0 });
      if (index === undefined)
        throw new PiatError('bad-option', 'sweep-task needs --index I (the batch script passes $SLURM_ARRAY_TASK_ID)');
      await initBackend(backendOpt);
      await runSweepTask(dir, index, { trainPoolJob });
      return 0;
    }
    case 'pool-task': {
      const file = a.rest[0];
      if (!file || !fs.existsSync(file))
        throw new PiatError(
          'bad-option',
          `pool-task needs a job file (JSON written by PIAT_SWEEP=workers); ${file ? `${file} does not exist` : 'none given'}`,
        );
      const job = JSON.parse(fs.readFileSync(file, 'utf8')) as PoolJob;
      if (job.kind !== 'pool') throw new PiatError('bad-option', `${file} is not a pool job (kind '${job.kind}')`);
      await initBackend(backendOpt);
      console.error(`pool task ${file}: ${job.method.name} → ${await trainPoolJob(job)}`);
      return 0;
    }
    case 'eval': {
      // every option first: a bad one must not cost a model load or a clean pass
      const checkpoint = stringFlag(a.flags, 'checkpoint');
      if (checkpoint === undefined)
        throw new PiatError('bad-option', 'eval needs --checkpoint DIR (a folder with model.json and weights.bin)');
      if (!fs.existsSync(path.join(checkpoint, 'model.json')))
        throw new PiatError('bad-option', `--checkpoint ${checkpoint}: no model.json there`);
      const dataName = oneOf('dataset (--data)', String(stringFlag(a.flags, 'data') ?? ''), DATASETS);
      const attacks = stringFlag(a.flags, 'attacks')?.split(',');
      attacks?.forEach(resolveAttack);
      const n = numberFlag(a.flags, 'n', { integer: true, min: 1 });
      const eps = numberFlag(a.flags, 'eps', { min: 0 }) ?? PAPER_THREAT.eps;
      const alpha = numberFlag(a.flags, 'alpha', { above: 0 }) ?? defaultStep(eps);
      const dataDir = stringFlag(a.flags, 'data-dir');
      await initBackend(backendOpt);
      const model = await loadModel(checkpoint);
      const data = loadDataset(dataName, 'test', { dir: dataDir });
      // a softmax output, a randomised model or vanishing gradients make the numbers below too high: say so first
      const warnings = checkModel(model, data, { attacks: attacks ?? [...DEFAULT_ATTACKS] });
      warnings.forEach((w) => console.error(`piat: warning (${w.check}): ${w.message}`));
      const rows = evaluate(model, data, {
        attacks,
        n,
        eps,
        alpha,
        // an interrupted AutoAttack resumes from this file
        aaStatePath: path.join(checkpoint, `autoattack-${dataName}-${n ?? 'all'}.state.json`),
      });
      if (a.flags.json) console.log(JSON.stringify({ checkpoint, data: dataName, eps, alpha, warnings, rows }, null, 2));
      else
        rows.forEach((r) =>
          console.log(`${r.attack.padEnd(8)} ${(100 * r.accuracy).toFixed(2)}%  (n = ${r.n}, ${r.seconds.toFixed(1)} s)`),
        );
      return 0;
    }
    case 'fetch': {
      const name = oneOf('dataset', a.rest[0] ?? '', Object.keys(OFFICIAL) as (keyof typeof OFFICIAL)[]);
      const dir = stringFlag(a.flags, 'dir') ?? path.join(PROJECT_ROOT, 'datasets', name);
      const files = await fetchDataset(name, dir);
      console.log(`fetched ${name}: ${files.length} files under ${dir}`);
      return 0;
    }
    case 'schema': {
      const out = a.flags.write ? SCHEMA_FILE : stringFlag(a.flags, 'out');
      if (out) console.log(`wrote ${writeRunConfigJsonSchema(out)}`);
      else process.stdout.write(runConfigJsonSchema());
      return 0;
    }
    case 'report': {
      const r = spawnSync('/usr/bin/python3', [path.join(PROJECT_ROOT, 'scripts', 'run_notebooks.py'), '--profile', profile, ...a.rest], {
        stdio: 'inherit',
        env: { ...process.env, ...(backendOpt.backend ? { PIAT_BACKEND: backendOpt.backend } : {}) },
      });
      if (r.error)
        throw new PiatError('no-jupyter', `Could not start the notebook runner (${r.error.message}); run 'bash scripts/setup.sh' first.`);
      return r.status ?? 1;
    }
  }
}

function readConfig(file: string | true | undefined): unknown {
  if (typeof file !== 'string') throw new PiatError('bad-option', 'missing --config FILE (a JSON run config; see src/train/run-config.ts)');
  if (!fs.existsSync(file)) throw new PiatError('bad-option', `config file ${file} does not exist`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PiatError('bad-config', `${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** A flag without a value (`--json`); `--json x` is refused rather than taken for a value. */
function flagSet(flags: Record<string, string | true>, name: string): boolean {
  const v = flags[name];
  if (typeof v === 'string') throw new PiatError('bad-option', `--${name} takes no value, got '${v}' (put the folder before the options)`);
  return v === true;
}

/** The sweep folder argument of sweep-status / -collect / -task. */
function sweepDirArg(rest: string[]): string {
  if (rest.length !== 1)
    throw new PiatError(
      'bad-option',
      `expected one sweep folder (the runDir of piat sweep --slurm, or a pool's …/sweep), got ${rest.length ? rest.join(' ') : 'none'}`,
    );
  return rest[0];
}

/** Every value of a repeated flag (--grid a=1 --grid b=2). */
function argvAll(argv: string[], flag: string): string[] {
  const out: string[] = [];
  argv.forEach((v, i) => {
    if (v === flag && argv[i + 1] !== undefined) out.push(argv[i + 1]);
    else if (v.startsWith(flag + '=')) out.push(v.slice(flag.length + 1));
  });
  return out;
}

async function runFromConfig(raw: unknown, stop: Interrupt) {
  const r = await trainFromConfig(raw, { shouldStop: stop.requested });
  const last = r.records[r.records.length - 1];
  console.error(
    `${r.config.runDir}: ${r.records.length} epochs${r.stopped ? ' (stopped; run again to resume)' : ''}; best PGD: ${r.best ? `${(100 * r.best.robustAcc).toFixed(2)}% at epoch ${r.best.epoch}` : 'n/a'}; last clean ${last?.cleanAcc ?? 'n/a'}`,
  );
  return r;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      if (e instanceof PiatError) {
        console.error(`piat: ${e.message}`);
        if (e.code === 'unknown-option') console.error(usage());
        process.exit(2);
      }
      console.error(e);
      process.exit(1);
    },
  );
}
