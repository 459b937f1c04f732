/**
 * One array task of a sweep (`piat sweep-task DIR --index i`, what the batch script runs): trains
 * point i into its run folder, resuming from its checkpoint, and records the attempt in
 * slurm/tasks/<i>.json for `piat sweep-status`. A config point trains as `piat train` would; a pool
 * point through the runner the caller passes (the CLI passes the pool's trainPoolJob, from
 * src/experiments/pool.ts, which trains it as the notebook would have).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PiatError } from '../util/errors';
import { readJson, writeFileAtomic } from '../util/fsx';
import { LOCK_NAME, LockOwner } from '../train/run-lock';
import { trainFromConfig } from '../train/run-config';
import { PoolJob, readManifest, sweepPaths } from './folder';
import { TaskRecord } from './status';
import { RUNNING_STATES, squeueTasks } from './slurm';

function readOr<T>(file: string): T | null {
  try {
    return readJson<T>(file);
  } catch {
    return null;
  }
}

/**
 * A lock left on another node by this point's previous attempt (killed without a chance to remove
 * it: node failure, SIGKILL) blocks a resubmission forever, since the trainer cannot check a pid
 * on another host. It is removed when the scheduler says that attempt is over.
 */
function releasePreviousAttemptLock(runDir: string, previous: TaskRecord | null, jobName: string): void {
  const file = path.join(runDir, LOCK_NAME);
  const owner = readOr<LockOwner>(file);
  // on this host the trainer itself takes over a dead process's lock
  if (!owner || !previous || owner.host === os.hostname() || owner.host !== previous.host || owner.pid !== previous.pid) return;
  // a requeued job is the same job: its earlier run cannot still be running
  if (previous.jobId !== process.env.SLURM_JOB_ID) {
    const q = squeueTasks(jobName);
    if ('error' in q) return;
    const still = q.entries.some((e) => e.jobId === previous.arrayJobId && e.index === previous.index && RUNNING_STATES.includes(e.state));
    if (still) return;
  }
  fs.rmSync(file, { force: true });
  process.stderr.write(
    `note: removed ${file}, left on ${owner.host} by this point's previous task (${previous.arrayJobId}_${previous.index}), which is over\n`,
  );
}

/** Trains a pool job and returns the run folder it trained (the pool's trainPoolJob). */
export type PoolJobRunner = (job: PoolJob) => Promise<string>;

async function runPoolJob(job: PoolJob, runDir: string, trainPoolJob: PoolJobRunner | undefined): Promise<void> {
  if (!trainPoolJob)
    throw new PiatError(
      'bad-option',
      `${job.method.name}: a pool point, but no pool runner was given to train it (piat sweep-task passes the pool's)`,
    );
  const trained = await trainPoolJob(job);
  if (path.resolve(trained) !== path.resolve(runDir)) {
    throw new PiatError(
      'sweep-mismatch',
      `${job.method.name}: the pool trained it in ${trained}, but the sweep expects ${runDir} (has the pool's folder layout changed since submission?)`,
    );
  }
}

export async function runSweepTask(dir: string, index: number, o: { trainPoolJob?: PoolJobRunner } = {}): Promise<void> {
  const m = readManifest(dir);
  const point = m.points.find((p) => p.index === index);
  if (!point) throw new PiatError('bad-option', `${dir} has no point ${index} (points 0 to ${m.points.length - 1})`);
  const file = sweepPaths(dir).task(index);
  releasePreviousAttemptLock(point.runDir, readOr<TaskRecord>(file), m.jobName);
  const record: TaskRecord = {
    index,
    jobId: process.env.SLURM_JOB_ID,
    arrayJobId: process.env.SLURM_ARRAY_JOB_ID,
    host: os.hostname(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
    status: 'running',
  };
  const save = (r: Partial<TaskRecord>) => writeFileAtomic(file, JSON.stringify({ ...record, ...r }, null, 1));
  save({});
  // scancel, the time limit and preemption send SIGTERM: say so, free the run folder, and go; the
  // last saved checkpoint stands and a resubmitted task resumes from it
  const onTerm = () => {
    save({
      status: 'cancelled',
      endedAt: new Date().toISOString(),
      message: 'SIGTERM (scancel, time limit or preemption); the last saved checkpoint stands',
    });
    const lock = path.join(point.runDir, LOCK_NAME);
    const owner = readOr<LockOwner>(lock);
    if (owner && owner.pid === process.pid && owner.host === record.host) fs.rmSync(lock, { force: true });
    process.exit(143);
  };
  process.once('SIGTERM', onTerm);
  // the task trains here; a PIAT_SWEEP=slurm inherited from the notebook must not hand it off again
  process.env.PIAT_SWEEP = 'local';
  try {
    console.error(`sweep task ${index} of ${dir}: ${point.tag} → ${point.runDir}`);
    if (point.job.kind === 'config') await trainFromConfig(point.job.config);
    else await runPoolJob(point.job, point.runDir, o.trainPoolJob);
    save({ status: 'done', endedAt: new Date().toISOString() });
  } catch (e) {
    save({ status: 'failed', endedAt: new Date().toISOString(), message: (e as Error).message.split('\n')[0] });
    throw e;
  } finally {
    process.off('SIGTERM', onTerm);
  }
}
