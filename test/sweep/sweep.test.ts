/**
 * Sweeps on Slurm without a cluster (issue 16): the batch script, option checks, the pool's method
 * labels, the status without a scheduler, the collected table, and the CLI's errors. The real
 * cluster is test/sweep/slurm.test.ts.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { arraySpec, parseQueueLines, slurmOptionsFromEnv, slurmOptionsFromFlags, slurmScript } from '../../src/sweep/slurm';
import { poolMethodFromLabel, sweepMode } from '../../src/experiments/pool-handoff';
import { collectSweep, sweepTable, toCsv } from '../../src/sweep/collect';
import { sweepStatus } from '../../src/sweep/status';
import { methodLabel } from '../../src/experiments/methods';
import { cli, tinyConfig, writeJson } from '../run-safety-helpers';
import { tmpDir } from '../helpers';

test('array indices compress to ranges, with the parallel limit', () => {
  assert.equal(arraySpec([0, 1, 2, 5, 7, 8]), '0-2,5,7-8');
  assert.equal(arraySpec([3, 1, 2, 2], 2), '1-3%2');
  assert.equal(arraySpec([4]), '4');
});

test('the batch script carries the options, the environment and the task command', () => {
  const s = slurmScript({
    jobName: 'piat-x-1',
    indices: [0, 1, 2, 3],
    slurm: { partition: 'gpu', gres: 'gpu:1', time: '12:00:00', cpusPerTask: 4, maxParallel: 2 },
    workDir: '/w',
    logPattern: '/s/logs/%A_%a.out',
    command: ['/usr/bin/node', '/p/cli.js', 'sweep-task', '/s', '--index'],
    env: { PIAT_BACKEND: 'torch', PIAT_DATA: "/d/it's" },
  });
  for (const line of [
    '#SBATCH --job-name=piat-x-1',
    '#SBATCH --array=0-3%2',
    '#SBATCH --partition=gpu',
    '#SBATCH --gres=gpu:1',
    '#SBATCH --time=12:00:00',
    '#SBATCH --cpus-per-task=4',
    '#SBATCH --output=/s/logs/%A_%a.out',
    '#SBATCH --requeue',
    '#SBATCH --chdir=/w',
  ]) {
    assert.ok(s.split('\n').includes(line), `missing ${line} in\n${s}`);
  }
  assert.match(s, /^export PIAT_DATA='\/d\/it'\\''s'$/m, 'values are quoted for bash');
  // threads follow the CPUs Slurm gives when the submitting shell did not set them
  assert.match(s, /^export PIAT_THREADS="\$SLURM_CPUS_PER_TASK"$/m);
  assert.match(s, /^exec '\/usr\/bin\/node' '\/p\/cli.js' 'sweep-task' '\/s' '--index' "\$SLURM_ARRAY_TASK_ID"$/m);
  const noCpus = slurmScript({
    jobName: 'j',
    indices: [0],
    slurm: {},
    workDir: '/w',
    logPattern: 'l',
    command: ['n'],
    env: { PIAT_THREADS: '1' },
  });
  assert.doesNotMatch(noCpus, /SLURM_CPUS_PER_TASK|--partition|--array=0%/);
});

test('Slurm options are checked, on the command line and in PIAT_SLURM', () => {
  assert.deepEqual(slurmOptionsFromFlags({ partition: 'gpu', 'max-parallel': '3', time: '1-00:00:00' }), {
    partition: 'gpu',
    time: '1-00:00:00',
    maxParallel: 3,
  });
  assert.throws(() => slurmOptionsFromFlags({ time: '1h' }), /--time must be a Slurm time.*got '1h'/);
  assert.throws(() => slurmOptionsFromFlags({ partition: 'gpu; rm -rf /' }), /--partition must be a partition name/);
  assert.throws(() => slurmOptionsFromFlags({ 'cpus-per-task': '0' }), /--cpus-per-task must be a whole number >= 1, got '0'/);
  assert.throws(() => slurmOptionsFromFlags({ gres: true }), /--gres must be .* got no value/);
  assert.deepEqual(slurmOptionsFromEnv({ PIAT_SLURM: ' --gres gpu:1 --cpus-per-task=8 ' }), { gres: 'gpu:1', cpusPerTask: 8 });
  assert.throws(() => slurmOptionsFromEnv({ PIAT_SLURM: '--partiton gpu' }), /PIAT_SLURM: unknown option --partiton/);
  assert.throws(() => slurmOptionsFromEnv({ PIAT_SLURM: 'gpu' }), /PIAT_SLURM: expected --option value, got 'gpu'/);
  assert.equal(sweepMode({}), 'local');
  assert.equal(sweepMode({ PIAT_SWEEP: 'slurm' }), 'slurm');
  assert.throws(() => sweepMode({ PIAT_SWEEP: 'slrum' }), /Unknown PIAT_SWEEP 'slrum'/);
});

test('pool run labels give back the method that labels them, and others are refused', () => {
  for (const [name, variant] of [
    ['PGD-AT', undefined],
    ['PIAT+NMSE', { nmseLambda: 2 }],
    ['PIAT+NMSE', { piatSchedule: { kind: 'fixed' as const, beta: 0.9 } }],
    ['PIAT+MART+A&P', undefined],
  ] as const) {
    const label = methodLabel(name, variant);
    assert.deepEqual(poolMethodFromLabel(label), variant ? { name, variant } : { name }, label);
  }
  assert.throws(
    () => poolMethodFromLabel(methodLabel('PIAT+NMSE', { piatSchedule: { kind: 'dynamic', betaMax: 0.9 } })),
    /cannot be rebuilt from its name/,
  );
});

test('squeue and sacct lines are read per array task', () => {
  assert.deepEqual(parseQueueLines('12_0|RUNNING\n12_3|PENDING\n13_1|CANCELLED by 0\n12_[4-5]|PENDING\n'), [
    { jobId: '12', index: 0, state: 'RUNNING' },
    { jobId: '12', index: 3, state: 'PENDING' },
    { jobId: '13', index: 1, state: 'CANCELLED' },
  ]);
});

test('CSV quotes commas, quotes and newlines and leaves missing cells empty', () => {
  assert.equal(
    toCsv([
      { a: 'x,y', b: 1 },
      { b: 'say "hi"', c: null },
    ]),
    'a,b,c\n"x,y",1,\n,"say ""hi""",\n',
  );
});

test('sweep --slurm: options checked first, a dry run writes the folder, status and collect work without a scheduler, sbatch missing is named', () => {
  const dir = tmpDir('piat-sweep-');
  const base = writeJson(path.join(dir, 'run.json'), tinyConfig(path.join(dir, 'grid')));
  const noSlurm = { PATH: '/nonexistent' };
  let r = cli(['sweep', '--config', base, '--grid', 'train.seed=1,2', '--partition', 'gpu']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /sweep: --partition is a Slurm option; add --slurm/);
  r = cli(['sweep', '--config', base, '--grid', 'train.seed=1,2', '--slurm', '--shard', '0/2']);
  assert.match(r.stderr, /--shard and --slurm do not go together/);
  r = cli(['sweep', '--config', base, '--grid', 'train.seed=1,2', '--slurm', '--gpus', '1']);
  assert.match(r.stderr, /sweep: unknown option --gpus/);
  r = cli(['sweep', '--config', base, '--grid', 'train.lr=1,2', '--slurm', '--dry-run']);
  assert.match(r.stderr, /sweep point train.lr=1: config.train.lr: unknown field/, 'every point is checked before anything is written');
  assert.ok(!fs.existsSync(path.join(dir, 'grid')));

  r = cli(['sweep', '--config', base, '--grid', 'train.seed=1,2', '--slurm', '--time', '5', '--dry-run'], noSlurm);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /dry run: nothing submitted; submit with: sbatch .*grid\/slurm\/sweep.sbatch/);
  const script = fs.readFileSync(path.join(dir, 'grid', 'slurm', 'sweep.sbatch'), 'utf8');
  assert.match(script, /#SBATCH --array=0-1\n/);
  assert.match(script, /#SBATCH --time=5\n/);

  // without squeue every point is unsubmitted, and the status says why it could not ask
  const s = sweepStatus(path.join(dir, 'grid'));
  assert.deepEqual(
    s.points.map((p) => [p.tag, p.state, p.epochs, p.totalEpochs]),
    [
      ['train.seed=1', 'unsubmitted', 0, 1],
      ['train.seed=2', 'unsubmitted', 0, 1],
    ],
  );
  r = cli(['sweep-status', path.join(dir, 'grid')], noSlurm);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /2 points · unsubmitted 2/);
  assert.match(r.stdout, /note: squeue not found/);
  r = cli(['sweep-status', '--json', path.join(dir, 'grid')]);
  assert.match(r.stderr, /--json takes no value, got '.*grid' \(put the folder before the options\)/);

  r = cli(['sweep', '--config', base, '--grid', 'train.seed=1,2', '--slurm'], noSlurm);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /sbatch not found: submitting .*sweep.sbatch needs Slurm's clients \(Debian: slurm-client\)/);
  r = cli(['sweep', '--config', base, '--grid', 'train.seed=1,3', '--slurm', '--dry-run']);
  assert.match(r.stderr, /already holds a sweep with other settings at point 1 \(train.seed=3\)/);

  // a point trained by its task (here directly, as the batch script would run it) is collected with its settings and metrics
  r = cli(['sweep-task', path.join(dir, 'grid'), '--index', '1'], { PIAT_PROGRESS: 'lines' });
  assert.equal(r.status, 0, r.stderr);
  const rows = collectSweep(path.join(dir, 'grid'));
  assert.equal(rows.length, 2);
  assert.equal(rows[0].done, false);
  assert.equal(rows[0].epochs, 0);
  const rec = JSON.parse(fs.readFileSync(path.join(dir, 'grid', 'train.seed=2', 'records.jsonl'), 'utf8').trim());
  assert.deepEqual(
    [rows[1]['train.seed'], rows[1].done, rows[1]['final.robust'], rows[1]['best.robust'], rows[1]['model.arch'], rows[1]['model.hidden']],
    [2, true, rec.robustAcc, rec.robustAcc, 'mlp', '[8]'],
  );
  // a final evaluation cached beside the run (as the pool's evaluateRun writes it) becomes columns
  writeJson(path.join(dir, 'grid', 'train.seed=2', 'eval-best-abc-def.json'), [
    { attack: 'clean', accuracy: 0.5 },
    { attack: 'aa', accuracy: 0.25 },
  ]);
  assert.deepEqual(
    [collectSweep(path.join(dir, 'grid'))[1]['eval.best.aa'], collectSweep(path.join(dir, 'grid'))[1]['eval.final.aa']],
    [0.25, undefined],
  );
  const table = sweepTable(path.join(dir, 'grid'));
  assert.equal(table.numRows(), 2);
  assert.deepEqual(table.array('train.seed'), [1, 2]);
  const task = JSON.parse(fs.readFileSync(path.join(dir, 'grid', 'slurm', 'tasks', '1.json'), 'utf8'));
  assert.equal(task.status, 'done');
  r = cli(['sweep-task', path.join(dir, 'grid'), '--index', '2']);
  assert.match(r.stderr, /has no point 2 \(points 0 to 1\)/);
});
