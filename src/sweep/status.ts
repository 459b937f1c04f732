/**
 * Where each point of a sweep stands: done (its run folder has done.json), running or pending (the
 * scheduler's queue), failed (its task ended without finishing: cancelled, timed out, an error), or
 * unsubmitted. The run folders are the truth for done; squeue, then sacct, then the task's own
 * record (slurm/tasks/<i>.json) say the rest, so it also works where accounting is off.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readJson } from '../util/fsx';
import { PiatError } from '../util/errors';
import { readManifest, submitPoints, SweepManifest, sweepPaths } from './folder';
import { textTable } from './text-table';
import { QUEUED_STATES, QueueEntry, RUNNING_STATES, sacctTasks, squeueTasks } from './slurm';

export const POINT_STATES = ['pending', 'running', 'done', 'failed', 'unsubmitted'] as const;
export type PointState = (typeof POINT_STATES)[number];

export interface PointStatus {
  index: number;
  tag: string;
  state: PointState;
  /** epochs in records.jsonl / epochs the run trains */
  epochs: number;
  totalEpochs: number;
  /** the latest Slurm task of the point, `<job>_<index>` */
  task?: string;
  /** why: the scheduler's state, the task's error, … */
  detail: string;
  /** the latest task's log, when it exists */
  log?: string;
  runDir: string;
}

/** What a task writes about its attempt (slurm/tasks/<i>.json). */
export interface TaskRecord {
  index: number;
  jobId?: string;
  arrayJobId?: string;
  host: string;
  pid: number;
  startedAt: string;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  endedAt?: string;
  message?: string;
}

export interface SweepStatus {
  dir: string;
  manifest: SweepManifest;
  points: PointStatus[];
  /** what could not be asked (squeue or sacct missing or failing) */
  notes: string[];
}

/** Records written so far (a line each), without parsing them. */
export function recordedEpochs(runDir: string): number {
  const f = path.join(runDir, 'records.jsonl');
  return fs.existsSync(f)
    ? fs
        .readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => l.trim()).length
    : 0;
}

/** The entry of the latest job per index (a resubmission has a higher job id). */
function latest(entries: QueueEntry[]): Map<number, QueueEntry> {
  const out = new Map<number, QueueEntry>();
  for (const e of entries) {
    const prev = out.get(e.index);
    if (!prev || Number(e.jobId) > Number(prev.jobId)) out.set(e.index, e);
  }
  return out;
}

function readTask(file: string): TaskRecord | null {
  try {
    return readJson<TaskRecord>(file);
  } catch {
    return null;
  }
}

export function sweepStatus(dir: string): SweepStatus {
  const m = readManifest(dir);
  const p = sweepPaths(dir);
  const notes: string[] = [];
  const queue = squeueTasks(m.jobName);
  if ('error' in queue) notes.push(`${queue.error}: states from the run folders and the tasks' own records only`);
  const inQueue = 'entries' in queue ? latest(queue.entries) : new Map<number, QueueEntry>();
  // sacct only for points the queue no longer knows and that did not finish
  const ask = m.points.some((x) => !inQueue.has(x.index) && !fs.existsSync(path.join(x.runDir, 'done.json')) && m.submissions.length > 0);
  let inAccounting = new Map<number, QueueEntry>();
  if (ask) {
    const acct = sacctTasks(m.jobName, new Date(m.createdAt));
    if ('entries' in acct) inAccounting = latest(acct.entries);
    else notes.push(acct.error.split('\n')[0]);
  }
  const submitted = new Set(m.submissions.flatMap((s) => s.indices));
  const points = m.points.map((pt): PointStatus => {
    const base = { index: pt.index, tag: pt.tag, epochs: recordedEpochs(pt.runDir), totalEpochs: pt.epochs, runDir: pt.runDir };
    const q = inQueue.get(pt.index) ?? inAccounting.get(pt.index);
    const task = readTask(p.task(pt.index));
    const jobId = q?.jobId ?? task?.arrayJobId;
    const where = jobId
      ? { task: `${jobId}_${pt.index}`, ...(fs.existsSync(p.log(jobId, pt.index)) ? { log: p.log(jobId, pt.index) } : {}) }
      : {};
    if (fs.existsSync(path.join(pt.runDir, 'done.json'))) return { ...base, ...where, state: 'done', detail: '' };
    if (q && QUEUED_STATES.includes(q.state)) return { ...base, ...where, state: 'pending', detail: q.state };
    if (q && RUNNING_STATES.includes(q.state)) return { ...base, ...where, state: 'running', detail: q.state };
    if (q)
      return {
        ...base,
        ...where,
        state: 'failed',
        detail:
          q.state === 'COMPLETED'
            ? 'the task ended without finishing the run' + (task?.message ? `: ${task.message}` : '')
            : `${q.state}${task?.message ? `: ${task.message}` : ''}`,
      };
    if (task && task.status !== 'running')
      return { ...base, ...where, state: 'failed', detail: `${task.status}${task.message ? `: ${task.message}` : ''}` };
    if (task) {
      // a task that says it is running: believable only when the queue cannot be asked
      if ('error' in queue)
        return { ...base, ...where, state: 'running', detail: `according to its task record (started ${task.startedAt} on ${task.host})` };
      return {
        ...base,
        ...where,
        state: 'failed',
        detail: `the task (started ${task.startedAt} on ${task.host}) is gone without finishing`,
      };
    }
    if (submitted.has(pt.index) || 'error' in queue) {
      // nothing started: queued as far as we can tell, unless the scheduler was asked and has forgotten it
      if ('error' in queue)
        return {
          ...base,
          ...where,
          state: submitted.has(pt.index) ? 'pending' : 'unsubmitted',
          detail: submitted.has(pt.index) ? 'submitted; the queue cannot be asked' : '',
        };
      return { ...base, ...where, state: 'failed', detail: 'submitted, but neither in the queue nor started' };
    }
    return { ...base, state: 'unsubmitted', detail: '' };
  });
  return { dir, manifest: m, points, notes };
}

/** The status as a text table for the terminal. */
export function formatStatus(s: SweepStatus): string {
  const count = (st: PointState) => s.points.filter((x) => x.state === st).length;
  const head = `${s.dir}: ${s.points.length} points · ${POINT_STATES.filter((st) => count(st) > 0)
    .map((st) => `${st} ${count(st)}`)
    .join(' · ')}`;
  const rows = s.points.map((x) => [
    String(x.index),
    x.state,
    x.task ?? '-',
    `${x.epochs}/${x.totalEpochs}`,
    x.tag,
    x.detail + (x.state === 'failed' && x.log ? ` (log: ${x.log})` : ''),
  ]);
  const header = ['#', 'state', 'task', 'epochs', 'point', 'detail'];
  return [head, textTable([header, ...rows]), ...s.notes.map((n) => `note: ${n}`)].join('\n');
}

/**
 * Submits, as one array job, every point that is neither done nor queued nor running (failed ones
 * and those never submitted), with the sweep's existing script; null job id when there are none.
 */
export function submitUnfinished(dir: string): { jobId: string | null; submitted: PointStatus[]; status: SweepStatus } {
  const status = sweepStatus(dir);
  const todo = status.points.filter((x) => x.state === 'failed' || x.state === 'unsubmitted');
  if (!fs.existsSync(sweepPaths(dir).script))
    throw new PiatError('missing-file', `${sweepPaths(dir).script} is missing: run the sweep command again to write it`);
  const jobId = todo.length
    ? submitPoints(
        dir,
        status.manifest,
        todo.map((x) => x.index),
      )
    : null;
  return { jobId, submitted: todo, status };
}
