/**
 * The command table: every command of `piat`, with its one-line summary, its arguments, its options
 * (type, value, description, default) and its handler. The parser reads argv through it and the help
 * is printed from it (cli/help.ts); adding a command or an option is an entry here.
 */
import * as path from 'path';
import { initBackend } from '../backend';
import { oneOf } from '../util/errors';
import { PROJECT_ROOT } from '../experiments/profiles';
import { fetchDataset, OFFICIAL } from '../data/fetch';
import { DATASETS } from '../data/images';
import { attackNamePatterns } from '../attacks/registry';
import { DEFAULT_ATTACKS } from '../eval/evaluate';
import { runConfigJsonSchema, SCHEMA_FILE, writeRunConfigJsonSchema } from '../train/run-config-schema';
import { SLURM_FLAGS } from '../sweep/slurm';
import { CommandSpec, OptionTable } from './args';
import { Call, GLOBAL_OPTIONS } from './call';
import { commandHelp, usage } from './help';
import { compareCommand, evalCommand } from './evaluation';
import { DIALECT_HELP, exportTorchCommand } from './pytorch';
import { ARCHS } from '../models/registry';
import { overfitSearchCommand, paperCostCommand, reportCommand, resultsCommand, toyCommand } from './experiments';
import { poolTaskCommand, sweepCollectCommand, sweepCommand, sweepStatusCommand, sweepTaskCommand, trainCommand } from './training';

export type Command = CommandSpec<Call>;

const json = { type: 'boolean', description: 'print the result as JSON' } as const;

/** sbatch's options, one per name in SLURM_FLAGS (a new one there needs its line here) */
const SLURM_OPTIONS: Record<(typeof SLURM_FLAGS)[number], [string, string]> = {
  partition: ['P', 'with --slurm: the partition'],
  gres: ['GRES', 'with --slurm: generic resources of each task, e.g. gpu:1'],
  time: ['T', "with --slurm: each task's time limit, e.g. 90 (minutes), 12:00:00 or 1-00:00:00"],
  'cpus-per-task': ['N', "with --slurm: CPUs per task (also each task's PIAT_THREADS unless PIAT_THREADS is set)"],
  'max-parallel': ['K', 'with --slurm: at most K tasks at once'],
};
const slurmOptions: OptionTable = Object.fromEntries(
  SLURM_FLAGS.map((f) => [f, { type: 'string', value: SLURM_OPTIONS[f][0], description: SLURM_OPTIONS[f][1] }]),
);

const sweepDir = {
  name: 'DIR',
  noun: 'the folder',
  description: "the sweep's folder (the runDir of piat sweep --slurm, or a pool's …/sweep)",
};

export const COMMANDS: Command[] = [
  {
    name: 'backend',
    summary: 'show the tfjs backend that loads here, and why others did not',
    options: {},
    run: async ({ backend }) => {
      console.log(JSON.stringify(await initBackend(backend), null, 2));
      return 0;
    },
  },
  {
    name: 'toy',
    summary: "train the toy example's five methods (Sec. III-A) and print the comparison",
    options: { json },
    run: toyCommand,
  },
  {
    name: 'overfit-search',
    summary: 'train PGD-AT in the search settings (notebook 11); apply the overfitting criterion',
    options: {
      settings: { type: 'string', value: 'LIST', description: 'the settings, comma-separated (default: all of them)' },
      seeds: { type: 'string', value: 'LIST', description: 'the seeds, comma-separated (default 1; with --finished 1,2,3)' },
      finished: { type: 'boolean', description: 'only re-open finished runs and train nothing; say which were left out' },
      svg: {
        type: 'string',
        value: 'FILE',
        description: "write the runs' curves in one figure to FILE",
        missing: '--svg takes the file to write, e.g. --svg overfit-search.svg',
      },
      json,
    },
    run: overfitSearchCommand,
  },
  {
    name: 'compare',
    summary: 'A − B, paired by image and seed: its 95% interval, seed and image parts, verdict',
    options: {
      a: { type: 'string', value: 'RUNS', description: 'side A: run folders, comma-separated, one per seed (required)' },
      b: { type: 'string', value: 'RUNS', description: 'side B, likewise (required unless --best-vs-final)' },
      which: {
        type: 'string',
        value: 'best|final',
        description: 'compare at the Best epoch or at the last evaluated one',
        default: 'final',
      },
      'best-vs-final': { type: 'boolean', description: 'the runs of --a at Best against the same runs at Final (robust overfitting)' },
      attack: {
        type: 'string',
        value: 'NAME',
        description: "compare the final evaluation with this attack (the runs' eval-<which>-*.json) instead of the per-epoch results",
      },
      metric: { type: 'string', value: 'robust|clean', description: 'the per-epoch accuracy compared', default: 'robust' },
      json,
    },
    run: compareCommand,
  },
  {
    name: 'results',
    summary: "regenerate docs/results.md and the README's results from the data in results/",
    options: {
      collect: { type: 'boolean', description: 'first copy the finished published runs from runs/ into results/' },
      check: { type: 'boolean', description: 'write nothing; fail when a document differs from what the data gives' },
      verify: {
        type: 'boolean',
        description:
          'first re-train the first epochs of each committed run (same backend and threads as it records) and compare its records bit for bit; the findings go to results/verification.json',
      },
      epochs: { type: 'string', value: 'N', description: 'with --verify: the epochs re-trained per run', default: '2' },
      unchecked: {
        type: 'boolean',
        description: 'with --verify: only the runs results/verification.json has no current check of (new, or collected again)',
      },
      runs: {
        type: 'string',
        value: 'FOLDERS',
        description: "with --verify: only the committed runs whose path has these folders (e.g. 'seed-1/pgd-at', 'mart', 'seed-2')",
      },
    },
    run: resultsCommand,
  },
  {
    name: 'paper-cost',
    summary: "project the paper profile's GPU hours per notebook from a bench result (what the README's table shows)",
    options: {
      bench: {
        type: 'string',
        value: 'FILE',
        description: 'a bench result (npm run bench output, Markdown); default the committed H200 one',
      },
    },
    run: paperCostCommand,
  },
  {
    name: 'train',
    summary: 'train one run from its config (resumes if its runDir holds a checkpoint)',
    options: { config: { type: 'string', value: 'FILE', description: 'the run config, JSON (schema/run-config.schema.json)' } },
    run: trainCommand,
  },
  {
    name: 'sweep',
    summary: 'one run per grid point of a run config: here, or as a Slurm array job (--slurm)',
    options: {
      config: { type: 'string', value: 'FILE', description: 'the base run config, JSON' },
      grid: {
        type: 'string',
        value: 'key.path=v1,v2',
        multiple: true,
        description: 'a field of the config and its values; repeat for more fields (every combination is a point)',
      },
      shard: { type: 'string', value: 'i/n', description: 'train only the points k with k mod n = i' },
      slurm: {
        type: 'boolean',
        description: 'write runDir/slurm/sweep.sbatch (an array task per point) and submit it with sbatch; nothing trains here',
      },
      'dry-run': { type: 'boolean', description: 'with --slurm: write the batch script, submit nothing' },
      ...slurmOptions,
    },
    run: sweepCommand,
  },
  {
    name: 'sweep-status',
    summary: 'each point of a sweep pending, running, done or failed',
    positionals: sweepDir,
    options: {
      'resubmit-failed': { type: 'boolean', description: 'first submit the failed and unsubmitted points again' },
      json,
    },
    run: sweepStatusCommand,
  },
  {
    name: 'sweep-collect',
    summary: "every point's settings and metrics → DIR/results.json and DIR/results.csv",
    positionals: sweepDir,
    options: { out: { type: 'string', value: 'PREFIX', description: 'write PREFIX.json and PREFIX.csv instead' }, json },
    run: sweepCollectCommand,
  },
  {
    name: 'sweep-task',
    summary: 'train point I of a sweep (what each Slurm array task runs)',
    positionals: sweepDir,
    options: { index: { type: 'string', value: 'I', description: "the point's index (the batch script passes $SLURM_ARRAY_TASK_ID)" } },
    run: sweepTaskCommand,
  },
  {
    name: 'pool-task',
    summary: 'train one notebook-pool run (what each PIAT_SWEEP=workers process runs)',
    positionals: { name: 'JOB', noun: 'the job file', description: 'the job file, JSON written by the pool' },
    options: {},
    run: poolTaskCommand,
  },
  {
    name: 'eval',
    summary: 'robust accuracy of saved weights; warns of softmax, randomness, zero gradients',
    options: {
      checkpoint: { type: 'string', value: 'DIR', description: 'the saved model: a folder with model.json and weights.bin' },
      'torch-checkpoint': {
        type: 'string',
        value: 'FILE',
        description: 'or a PyTorch checkpoint (torch.save state_dict or .safetensors; weights-only), loaded into --arch',
      },
      arch: { type: 'string', value: 'NAME', description: `the architecture of --torch-checkpoint: ${ARCHS.join(', ')}` },
      data: { type: 'string', value: 'NAME', description: `the test set: ${DATASETS.join(', ')} (required)` },
      'data-dir': { type: 'string', value: 'D', description: "the folder holding the dataset's files" },
      attacks: {
        type: 'string',
        value: 'LIST',
        description: `comma-separated, of ${attackNamePatterns().join(', ')}; N is the number of steps; aa resumes if interrupted`,
        default: DEFAULT_ATTACKS.join(','),
      },
      n: { type: 'string', value: 'N', description: 'evaluate the first N test images (default all)' },
      eps: { type: 'string', value: 'E', description: "the L∞ radius (default 8/255, the paper's)" },
      alpha: { type: 'string', value: 'A', description: "the attacks' step size (default ε/4)" },
      json,
    },
    run: evalCommand,
  },
  {
    name: 'export-torch',
    summary: 'write a saved model as a PyTorch state_dict (torch.save zip or .safetensors)',
    options: {
      checkpoint: { type: 'string', value: 'DIR', description: 'the saved model: a folder with model.json and weights.bin (required)' },
      to: { type: 'string', value: 'FILE', description: 'the file to write: .safetensors, else torch.save format (required)' },
      arch: { type: 'string', value: 'NAME', description: "the architecture (default: from the model's name)" },
      dialect: { type: 'string', value: 'NAME', description: `the PyTorch code's naming to write (default the first): ${DIALECT_HELP}` },
    },
    run: exportTorchCommand,
  },
  {
    name: 'report',
    summary: 'execute notebooks, render reports/<name>.html and reports/index.html',
    positionals: { name: 'NOTEBOOK…', noun: 'the notebooks', description: 'the notebooks to run (default all of notebooks/)' },
    options: {},
    run: reportCommand,
  },
  {
    name: 'fetch',
    summary: "download a dataset's official files (needs internet), check their MD5, unpack them",
    positionals: { name: 'NAME', noun: 'the dataset', description: `the dataset: ${Object.keys(OFFICIAL).join(', ')}` },
    options: { dir: { type: 'string', value: 'D', description: 'unpack into D (default datasets/<name>/)' } },
    run: async ({ a }) => {
      const name = oneOf('dataset', a.positionals[0] ?? '', Object.keys(OFFICIAL) as (keyof typeof OFFICIAL)[]);
      const dir = a.str('dir') ?? path.join(PROJECT_ROOT, 'datasets', name);
      const files = await fetchDataset(name, dir);
      console.log(`fetched ${name}: ${files.length} files under ${dir}`);
      return 0;
    },
  },
  {
    name: 'schema',
    summary: "print the run config's JSON Schema",
    options: {
      write: { type: 'boolean', description: `write it to ${path.relative(PROJECT_ROOT, SCHEMA_FILE)}` },
      out: { type: 'string', value: 'FILE', description: 'write it to FILE' },
    },
    run: ({ a }) => {
      const out = a.flag('write') ? SCHEMA_FILE : a.str('out');
      if (out) console.log(`wrote ${writeRunConfigJsonSchema(out)}`);
      else process.stdout.write(runConfigJsonSchema());
      return 0;
    },
  },
  {
    name: 'help',
    summary: "this list, or a command's options",
    positionals: { name: '[COMMAND]', noun: 'the command', description: 'the command whose options to print' },
    options: {},
    run: ({ a }) => {
      const name = a.positionals[0];
      console.log(name === undefined ? usage(COMMANDS, GLOBAL_OPTIONS) : commandHelp(findCommand(name), GLOBAL_OPTIONS));
      return 0;
    },
  },
];

/** The command named `name`, or the error listing the commands (main prints the usage after it). */
export function findCommand(name: string): Command {
  const known = COMMANDS.map((c) => c.name);
  return COMMANDS[known.indexOf(oneOf('command', name, known))];
}
