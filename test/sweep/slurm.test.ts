/**
 * Sweeps on a real single-node Slurm (issue 16), started by scripts/slurm-cluster.sh: a 4-point
 * grid submitted as an array job, one task cancelled mid-run and resubmitted, and every point's
 * records equal to the same point trained without Slurm; then the notebook pool handing its
 * missing runs to Slurm (PIAT_SWEEP=slurm) and re-opening them once done, with the records of a
 * local pool. Skipped, with a note, where Slurm and munge are not installed (bash scripts/setup.sh
 * --slurm installs them) or the test does not run as root.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { backendInfo } from '../../src/backend';
import { EpochRecord } from '../../src/train/records';
import { formatStatus, sweepStatus } from '../../src/sweep/status';
import { poolSweepDir } from '../../src/experiments/pool-handoff';
import { poolConfig, trainPool } from '../../src/experiments/pool';
import { runRoot } from '../../src/experiments/profiles';
import { lambdaMethod } from '../../src/experiments/sweeps';
import { PiatError } from '../../src/util/errors';
import { REPO_ROOT, setup, tmpDir } from '../helpers';
import { cli, strip, writeJson } from '../run-safety-helpers';

// the tasks and this process train on one thread each: the same seed then gives the same bits
process.env.PIAT_THREADS ??= '1';

function slurmMissing(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root (the test cluster runs slurmctld and slurmd as root)';
  const missing = ['slurmctld', 'slurmd', 'sbatch', 'squeue', 'scancel', 'munged'].filter(
    (b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0,
  );
  return missing.length ? `${missing.join(', ')} not installed (bash scripts/setup.sh --slurm installs Slurm and munge)` : null;
}

const skip = slurmMissing();
if (skip) console.log(`slurm: ${skip}; the Slurm integration tests are skipped`);
const work = tmpDir('piat-slurm-');
const cluster = path.join(work, 'cluster');
const CLUSTER_SCRIPT = path.join(REPO_ROOT, 'scripts', 'slurm-cluster.sh');

before(async () => {
  await setup();
  if (skip) return;
  // CLI children and Slurm tasks use the backend this process uses
  process.env.PIAT_BACKEND = backendInfo().name;
  const r = spawnSync('bash', [CLUSTER_SCRIPT, 'start', cluster], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `the test cluster did not start:\n${r.stderr}`);
  process.env.SLURM_CONF = /SLURM_CONF=(\S+)/.exec(r.stdout)?.[1];
});

after(() => {
  if (skip || !process.env.SLURM_CONF) return;
  // no task may outlive the cluster (slurmstepd keeps running a job without slurmd)
  spawnSync('scancel', ['--user', 'root'], { encoding: 'utf8' });
  for (let k = 0; k < 50 && spawnSync('squeue', ['-h', '-t', 'PENDING,RUNNING,COMPLETING'], { encoding: 'utf8' }).stdout.trim(); k++)
    spawnSync('sleep', ['0.2']);
  spawnSync('bash', [CLUSTER_SCRIPT, 'stop', cluster], { encoding: 'utf8', timeout: 60_000 });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `ok` (every 200 ms), failing after `seconds` with the sweep's status. */
async function waitFor(what: string, seconds: number, ok: () => boolean, dir: string): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out after ${seconds} s waiting for ${what}:\n${formatStatus(sweepStatus(dir))}`);
    await sleep(200);
  }
}

const records = (runDir: string): EpochRecord[] => {
  const f = path.join(runDir, 'records.jsonl');
  return fs.existsSync(f)
    ? fs
        .readFileSync(f, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
};
const settled = (dir: string) => sweepStatus(dir).points.every((p) => p.state !== 'pending' && p.state !== 'running');

/** Two-circles MLP with PGD-AT: about half a second an epoch on one thread, so a task can be caught mid-run. */
function gridBase(runDir: string): Record<string, unknown> {
  const attack = { eps: 0.03, alpha: 0.0075, steps: 10 };
  return {
    dataset: 'two-circles',
    trainSize: 400,
    testSize: 200,
    model: { arch: 'mlp', hidden: [32] },
    objective: { name: 'pgd-at', attack },
    train: {
      epochs: 10,
      batchSize: 50,
      seed: 1,
      optimizer: { lr: 0.5, momentum: 0.9 },
      eval: { n: 200, attack: { ...attack, steps: 20 } },
    },
    runDir,
  };
}
const GRID = ['--grid', 'objective.name=pgd-at,alp', '--grid', 'train.seed=1,2'];

test(
  'a grid on Slurm: one task a point, a cancelled task resubmitted resumes, records equal a run without Slurm',
  { skip: skip ?? false, timeout: 6 * 60_000 },
  async () => {
    const dir = path.join(work, 'grid');
    const base = writeJson(path.join(work, 'grid.json'), gridBase(dir));
    let r = cli(['sweep', '--config', base, ...GRID, '--slurm', '--cpus-per-task', '1', '--max-parallel', '2', '--time', '10:00']);
    assert.equal(r.status, 0, r.stderr);
    const job = /submitted batch job (\d+): 4 points/.exec(r.stdout)?.[1];
    assert.ok(job, r.stdout);
    const script = fs.readFileSync(path.join(dir, 'slurm', 'sweep.sbatch'), 'utf8');
    for (const line of ['#SBATCH --array=0-3%2', '#SBATCH --cpus-per-task=1', '#SBATCH --time=10:00'])
      assert.ok(script.includes(line), `${line} in\n${script}`);

    // cancel point 0 once it has saved two epochs and before it finishes
    const first = sweepStatus(dir).points[0];
    await waitFor('point 0 to save two epochs', 120, () => records(first.runDir).length >= 2, dir);
    assert.ok(!fs.existsSync(path.join(first.runDir, 'done.json')), 'point 0 finished before it could be cancelled');
    assert.equal(spawnSync('scancel', [`${job}_0`]).status, 0);
    await waitFor('every task to end', 180, () => settled(dir), dir);
    let s = sweepStatus(dir);
    assert.deepEqual(
      s.points.map((p) => p.state),
      ['failed', 'done', 'done', 'done'],
      formatStatus(s),
    );
    assert.match(s.points[0].detail, /CANCELLED/);
    const cancelledAt = s.points[0].epochs;
    assert.ok(cancelledAt >= 2 && cancelledAt < 10, `cancelled after ${cancelledAt} epochs`);

    r = cli(['sweep-status', dir, '--resubmit-failed']);
    assert.equal(r.status, 0, r.stderr);
    const again = /submitted batch job (\d+): points 0 \(failed\)/.exec(r.stderr)?.[1];
    assert.ok(again, r.stderr);
    await waitFor('the resubmitted point', 120, () => settled(dir), dir);
    s = sweepStatus(dir);
    assert.deepEqual(
      s.points.map((p) => p.state),
      ['done', 'done', 'done', 'done'],
      formatStatus(s),
    );
    assert.equal(s.points[0].task, `${again}_0`);
    // the resubmitted task resumed from the checkpoint the cancelled one left
    assert.match(fs.readFileSync(path.join(dir, 'slurm', 'logs', `${again}_0.out`), 'utf8'), /resuming .* after epoch \d+/);

    // the same points without Slurm
    const local = path.join(work, 'grid-local');
    r = cli(['sweep', '--config', writeJson(path.join(work, 'local.json'), gridBase(local)), ...GRID]);
    assert.equal(r.status, 0, r.stderr);
    for (const p of s.points) {
      const mine = records(p.runDir);
      assert.equal(mine.length, 10);
      assert.deepEqual(strip(mine), strip(records(path.join(local, p.tag))), `records of ${p.tag}`);
    }

    r = cli(['sweep-collect', dir]);
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'));
    assert.deepEqual(
      rows.map((x: Record<string, unknown>) => [x['objective.name'], x['train.seed'], x.done, x.epochs]),
      [
        ['pgd-at', 1, true, 10],
        ['pgd-at', 2, true, 10],
        ['alp', 1, true, 10],
        ['alp', 2, true, 10],
      ],
    );
    for (const [k, row] of rows.entries()) {
      const rs = records(s.points[k].runDir);
      assert.equal(row['final.robust'], rs[9].robustAcc);
      assert.equal(row['best.robust'], Math.max(...rs.map((x) => x.robustAcc as number)));
    }
    const csv = fs.readFileSync(path.join(dir, 'results.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 5);
    assert.match(csv[0], /^point,tag,objective\.name,train\.seed,done,epochs,/);
  },
);

test(
  'the notebook pool hands its missing runs to Slurm and re-opens them once done, with the records of a local pool',
  { skip: skip ?? false, timeout: 6 * 60_000 },
  async () => {
    const env = { PIAT_RUNS: process.env.PIAT_RUNS, PIAT_SWEEP: process.env.PIAT_SWEEP };
    const methods = ['PGD-AT', lambdaMethod(2)];
    const config = poolConfig('smoke');
    try {
      process.env.PIAT_RUNS = path.join(work, 'runs-slurm');
      process.env.PIAT_SWEEP = 'slurm';
      const pending = (e: unknown) => e instanceof PiatError && e.code === 'runs-pending';
      let message = '';
      await assert.rejects(trainPool('smoke', config, methods, { progress: false }), (e) => ((message = (e as Error).message), pending(e)));
      assert.match(message, /2 of 2 runs are not trained yet/);
      assert.match(message, /submitted to Slurm as job \d+: PGD-AT, PIAT\+NMSE λ=2/);
      // executing again while they are queued or running submits nothing more
      await assert.rejects(trainPool('smoke', config, methods, { progress: false }), (e) => ((message = (e as Error).message), pending(e)));
      assert.doesNotMatch(message, /submitted/);
      assert.match(message, /(pending|running): PGD-AT/);

      const dir = poolSweepDir(path.join(runRoot('pool', 'smoke'), `${config.dataset}-${config.arch}`));
      await waitFor('the pool runs', 180, () => settled(dir), dir);
      assert.deepEqual(
        sweepStatus(dir).points.map((p) => [p.tag, p.state]),
        [
          ['PGD-AT', 'done'],
          ['PIAT+NMSE λ=2', 'done'],
        ],
        formatStatus(sweepStatus(dir)),
      );
      const viaSlurm = await trainPool('smoke', config, methods, { progress: false });

      process.env.PIAT_RUNS = path.join(work, 'runs-local');
      process.env.PIAT_SWEEP = 'local';
      const here = await trainPool('smoke', config, methods, { progress: false });
      assert.deepEqual(
        viaSlurm.map((x) => x.method),
        ['PGD-AT', 'PIAT+NMSE λ=2'],
      );
      for (let k = 0; k < here.length; k++) {
        assert.equal(viaSlurm[k].records.length, config.epochs);
        assert.deepEqual(strip(viaSlurm[k].records), strip(here[k].records), `records of ${here[k].method}`);
      }
    } finally {
      for (const [k, v] of Object.entries(env)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  },
);
