/**
 * The training commands: train one run from its config, a sweep over a grid of configs (here, in
 * shards, or as a Slurm array job), a sweep's status and results, and the tasks that Slurm and the
 * notebook pool's worker processes run.
 */
import * as fs from 'fs';
import { initBackend } from '../backend';
import { PiatError } from '../util/errors';
import { parseShard, trainFromConfig, validateRunConfig } from '../train/run-config';
import { stopOnSigint, Interrupt } from '../train/interrupt';
import { SLURM_FLAGS, slurmOptionsFromFlags } from '../sweep/slurm';
import { gridPoints, slurmConfigSweep, sweepRoot } from '../sweep/config-sweep';
import { formatStatus, submitUnfinished, sweepStatus } from '../sweep/status';
import { collectSweep, formatCollected, writeCollected } from '../sweep/collect';
import { runSweepTask } from '../sweep/task';
import { PoolJob } from '../sweep/folder';
import { trainPoolJob } from '../experiments/pool';
import { Call } from './call';

export async function trainCommand({ a, backend }: Call): Promise<number> {
  const cfg = readConfig(a.str('config'));
  validateRunConfig(cfg);
  await initBackend(backend);
  const stop = stopOnSigint();
  await runFromConfig(cfg, stop);
  stop.dispose();
  return 0;
}

export async function sweepCommand({ a, backend }: Call): Promise<number> {
  const base = readConfig(a.str('config'));
  const shardText = a.str('shard');
  const shard = shardText !== undefined ? parseShard(shardText) : { index: 0, count: 1 };
  const slurm = a.flag('slurm');
  if (!slurm) {
    const stray = [...SLURM_FLAGS, 'dry-run'].find((f) => a.given(f));
    if (stray) throw new PiatError('bad-option', `sweep: --${stray} is a Slurm option; add --slurm`);
  }
  // every point is checked before the first trains or the batch script is written
  const points = gridPoints(base, a.all('grid'), (k) => slurm || k % shard.count === shard.index);
  if (slurm) {
    // Slurm's array does the splitting; nothing trains here, so no backend is started
    if (shardText !== undefined)
      throw new PiatError('bad-option', 'sweep: --shard and --slurm do not go together (each Slurm array task takes one point)');
    const dryRun = a.flag('dry-run');
    const r = slurmConfigSweep(points, slurmOptionsFromFlags(Object.fromEntries(SLURM_FLAGS.map((f) => [f, a.str(f)]))), {
      dir: sweepRoot(base),
      dryRun,
      backend: backend.backend,
    });
    console.error(`wrote ${r.script} (${r.points} points, one array task each)`);
    if (dryRun) console.log(`dry run: nothing submitted; submit with: sbatch ${r.script}`);
    else if (r.jobId)
      console.log(
        `submitted batch job ${r.jobId}: ${r.submitted.length} points${r.skipped ? ` (${r.skipped} already done, queued or running)` : ''}; follow it with: piat sweep-status ${r.dir}`,
      );
    else console.log(`nothing to submit: all ${r.points} points are done, queued or running (piat sweep-status ${r.dir})`);
    return 0;
  }
  await initBackend(backend);
  const stop = stopOnSigint();
  for (let k = 0; k < points.length; k++) {
    if (k % shard.count !== shard.index) continue;
    console.error(`sweep point ${k + 1}/${points.length}: ${points[k].tag}`);
    if ((await runFromConfig(points[k].config, stop)).stopped) break;
  }
  stop.dispose();
  return 0;
}

export function sweepStatusCommand({ a }: Call): number {
  const dir = sweepDirArg(a.positionals);
  if (a.flag('resubmit-failed')) {
    const r = submitUnfinished(dir);
    if (r.jobId) console.error(`submitted batch job ${r.jobId}: points ${r.submitted.map((x) => `${x.index} (${x.state})`).join(', ')}`);
    else console.error('nothing to resubmit: no point has failed or is unsubmitted');
  }
  const s = sweepStatus(dir);
  console.log(a.flag('json') ? JSON.stringify({ dir: s.dir, points: s.points, notes: s.notes }, null, 2) : formatStatus(s));
  return 0;
}

export function sweepCollectCommand({ a }: Call): number {
  const dir = sweepDirArg(a.positionals);
  const rows = collectSweep(dir);
  const files = writeCollected(dir, rows, a.str('out'));
  console.error(`wrote ${files.json} and ${files.csv} (${rows.length} points)`);
  console.log(a.flag('json') ? JSON.stringify(rows, null, 2) : formatCollected(rows));
  return 0;
}

export async function sweepTaskCommand({ a, backend }: Call): Promise<number> {
  const dir = sweepDirArg(a.positionals);
  const index = a.num('index', { integer: true, min: 0 });
  if (index === undefined) throw new PiatError('bad-option', 'sweep-task needs --index I (the batch script passes $SLURM_ARRAY_TASK_ID)');
  await initBackend(backend);
  await runSweepTask(dir, index, { trainPoolJob });
  return 0;
}

export async function poolTaskCommand({ a, backend }: Call): Promise<number> {
  const file = a.positionals[0];
  if (!file || !fs.existsSync(file))
    throw new PiatError(
      'bad-option',
      `pool-task needs a job file (JSON written by PIAT_SWEEP=workers); ${file ? `${file} does not exist` : 'none given'}`,
    );
  const job = JSON.parse(fs.readFileSync(file, 'utf8')) as PoolJob;
  if (job.kind !== 'pool') throw new PiatError('bad-option', `${file} is not a pool job (kind '${job.kind}')`);
  await initBackend(backend);
  console.error(`pool task ${file}: ${job.method.name} → ${await trainPoolJob(job)}`);
  return 0;
}

function readConfig(file: string | undefined): unknown {
  if (file === undefined) throw new PiatError('bad-option', 'missing --config FILE (a JSON run config; see src/train/run-config.ts)');
  if (!fs.existsSync(file)) throw new PiatError('bad-option', `config file ${file} does not exist`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PiatError('bad-config', `${file} is not valid JSON: ${(e as Error).message}`);
  }
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

async function runFromConfig(raw: unknown, stop: Interrupt) {
  const r = await trainFromConfig(raw, { shouldStop: stop.requested });
  const last = r.records[r.records.length - 1];
  console.error(
    `${r.config.runDir}: ${r.records.length} epochs${r.stopped ? ' (stopped; run again to resume)' : ''}; best PGD: ${r.best ? `${(100 * r.best.robustAcc).toFixed(2)}% at epoch ${r.best.epoch}` : 'n/a'}; last clean ${last?.cleanAcc ?? 'n/a'}`,
  );
  return r;
}
