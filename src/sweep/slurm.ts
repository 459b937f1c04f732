/**
 * Slurm, through its command-line clients: the options a sweep's array job takes, the batch script,
 * `sbatch` to submit and `squeue` / `sacct` to see where each array task stands. Clients find their
 * cluster the usual way (slurm.conf, or SLURM_CONF).
 */
import { spawnSync } from 'child_process';
import { PiatError } from '../util/errors';

/** What `piat sweep --slurm` (or PIAT_SLURM for the notebook pool) asks of the scheduler. */
export interface SlurmOptions {
  /** sbatch --partition */
  partition?: string;
  /** sbatch --gres, e.g. gpu:1 */
  gres?: string;
  /** sbatch --time, the limit of each task, e.g. 12:00:00 or 1-00:00:00 */
  time?: string;
  /** sbatch --cpus-per-task; also each task's PIAT_THREADS unless PIAT_THREADS is set when submitting */
  cpusPerTask?: number;
  /** at most this many tasks at once (the array's %K) */
  maxParallel?: number;
}

/** The option names on the command line (and in PIAT_SLURM). */
export const SLURM_FLAGS = ['partition', 'gres', 'time', 'cpus-per-task', 'max-parallel'] as const;

// values go into #SBATCH lines: no spaces or shell characters
const PATTERNS: Record<string, [RegExp, string]> = {
  partition: [/^[A-Za-z0-9_.,-]+$/, 'a partition name (letters, digits, _ . , -)'],
  gres: [/^[A-Za-z0-9_.:,-]+$/, 'a generic resource such as gpu:1 or gpu:a100:2'],
  time: [/^(\d+-)?\d+(:\d+){0,2}$/, 'a Slurm time such as 90 (minutes), 12:00:00 or 1-00:00:00'],
};

/** Reads and checks the Slurm options from parsed flags (`--partition P`, …); unknown keys are the caller's to refuse. */
export function slurmOptionsFromFlags(flags: Record<string, string | true | undefined>): SlurmOptions {
  const text = (name: string): string | undefined => {
    const v = flags[name];
    if (v === undefined) return undefined;
    const [re, what] = PATTERNS[name];
    if (v === true || !re.test(v))
      throw new PiatError('bad-option', `--${name} must be ${what}, got ${v === true ? 'no value' : `'${v}'`}`);
    return v;
  };
  const count = (name: string): number | undefined => {
    const v = flags[name];
    if (v === undefined) return undefined;
    if (v === true || !/^\d+$/.test(v) || Number(v) < 1)
      throw new PiatError('bad-option', `--${name} must be a whole number >= 1, got ${v === true ? 'no value' : `'${v}'`}`);
    return Number(v);
  };
  const o: SlurmOptions = {
    partition: text('partition'),
    gres: text('gres'),
    time: text('time'),
    cpusPerTask: count('cpus-per-task'),
    maxParallel: count('max-parallel'),
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as SlurmOptions;
}

/** PIAT_SLURM="--partition gpu --gres gpu:1 --time 12:00:00": the same options for the notebook pool. */
export function slurmOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SlurmOptions {
  const words = (env.PIAT_SLURM ?? '').trim().split(/\s+/).filter(Boolean);
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (!w.startsWith('--'))
      throw new PiatError(
        'bad-option',
        `PIAT_SLURM: expected --option value, got '${w}' (options: ${SLURM_FLAGS.map((f) => `--${f}`).join(', ')})`,
      );
    const [k, v] = w.slice(2).split('=', 2);
    if (!(SLURM_FLAGS as readonly string[]).includes(k))
      throw new PiatError('bad-option', `PIAT_SLURM: unknown option --${k} (options: ${SLURM_FLAGS.map((f) => `--${f}`).join(', ')})`);
    flags[k] = v ?? (words[i + 1] !== undefined && !words[i + 1].startsWith('--') ? words[++i] : true);
  }
  return slurmOptionsFromFlags(flags);
}

/** Array indices as sbatch's --array wants them: [0, 1, 2, 5] → "0-2,5". */
export function arraySpec(indices: number[], maxParallel?: number): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',') + (maxParallel ? `%${maxParallel}` : '');
}

/** Single-quotes a value for bash. */
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface ScriptOptions {
  jobName: string;
  /** indices of the array directive (`sbatch script` alone runs these; submissions pass their own --array) */
  indices: number[];
  slurm: SlurmOptions;
  /** where the tasks run (relative paths in configs resolve against it) */
  workDir: string;
  /** log file pattern for #SBATCH --output (%A array job, %a task) */
  logPattern: string;
  /** the task's command line, before the task index */
  command: string[];
  /** environment the tasks get on top of sbatch's own (the PIAT_* settings at submission) */
  env: Record<string, string>;
}

/** The array job's batch script: one array task per point, SLURM_ARRAY_TASK_ID naming the point. */
export function slurmScript(o: ScriptOptions): string {
  const s = o.slurm;
  const directives = [
    `--job-name=${o.jobName}`,
    `--array=${arraySpec(o.indices, s.maxParallel)}`,
    `--output=${o.logPattern}`,
    // a requeued task appends to its log and resumes from its run folder's checkpoint
    '--open-mode=append',
    '--requeue',
    `--chdir=${o.workDir}`,
    ...(s.partition ? [`--partition=${s.partition}`] : []),
    ...(s.gres ? [`--gres=${s.gres}`] : []),
    ...(s.time ? [`--time=${s.time}`] : []),
    ...(s.cpusPerTask ? [`--cpus-per-task=${s.cpusPerTask}`] : []),
  ];
  const env = Object.entries(o.env).map(([k, v]) => `export ${k}=${quote(v)}`);
  if (s.cpusPerTask && o.env.PIAT_THREADS === undefined) env.push('export PIAT_THREADS="$SLURM_CPUS_PER_TASK"');
  return [
    '#!/bin/bash',
    ...directives.map((d) => `#SBATCH ${d}`),
    '# Written by piat (src/sweep): array task i trains point i of sweep.json into its own run folder,',
    '# resuming from its checkpoint when the task is requeued or resubmitted.',
    'set -euo pipefail',
    ...env,
    `exec ${o.command.map(quote).join(' ')} "$SLURM_ARRAY_TASK_ID"`,
    '',
  ].join('\n');
}

/** The line of a client's error output that says what went wrong (Slurm's clients end with it). */
const lastLine = (text: string) => text.trim().split('\n').filter(Boolean).pop() ?? '';

function notFound(client: string, what: string): PiatError {
  return new PiatError(
    'no-slurm',
    `${client} not found: ${what} needs Slurm's clients (Debian: slurm-client) on this machine, configured for the cluster (slurm.conf or SLURM_CONF).`,
  );
}

/** Submits `script` as an array job over `indices`; returns the job id. */
export function sbatch(script: string, indices: number[], maxParallel?: number): string {
  const r = spawnSync('sbatch', ['--parsable', `--array=${arraySpec(indices, maxParallel)}`, script], { encoding: 'utf8' });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound('sbatch', `submitting ${script}`);
    throw new PiatError('sbatch-failed', `sbatch could not run: ${r.error.message}`);
  }
  if (r.status !== 0) throw new PiatError('sbatch-failed', `sbatch refused ${script} (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  const m = /^(\d+)(;\S+)?$/.exec(r.stdout.trim());
  if (!m) throw new PiatError('sbatch-failed', `sbatch printed no job id (stdout: '${r.stdout.trim()}')`);
  return m[1];
}

/** Where the scheduler says an array task is. */
export interface QueueEntry {
  /** the array job's id */
  jobId: string;
  index: number;
  /** Slurm's state name: PENDING, RUNNING, COMPLETED, CANCELLED, FAILED, TIMEOUT, … */
  state: string;
}

/** Parses `<jobid>_<index>|<STATE>` lines; sacct adds the state's cause ("CANCELLED by 0"). */
export function parseQueueLines(text: string): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+)_(\d+)\|([A-Z_]+)/.exec(line.trim());
    if (m) out.push({ jobId: m[1], index: Number(m[2]), state: m[3] });
  }
  return out;
}

/**
 * The sweep's array tasks that the controller still knows (queued, running, or ended less than
 * MinJobAge ago), by job name; an error when squeue is not installed or the controller does not answer.
 */
export function squeueTasks(jobName: string): { entries: QueueEntry[] } | { error: string } {
  const r = spawnSync('squeue', ['-h', '-r', '-t', 'all', '--name', jobName, '-o', '%i|%T'], { encoding: 'utf8' });
  if (r.error) return { error: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'squeue not found' : r.error.message };
  if (r.status !== 0) return { error: `squeue failed: ${lastLine(r.stderr || r.stdout)}` };
  return { entries: parseQueueLines(r.stdout) };
}

/** The accounting database's record of the sweep's tasks since `since`; an error where accounting is off (common on small clusters). */
export function sacctTasks(jobName: string, since: Date): { entries: QueueEntry[] } | { error: string } {
  const start = since.toISOString().slice(0, 19);
  const r = spawnSync('sacct', ['-n', '-P', '-X', '--name', jobName, '-S', start, '-o', 'JobID,State'], { encoding: 'utf8' });
  if (r.error) return { error: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'sacct not found' : r.error.message };
  if (r.status !== 0) return { error: `sacct: ${lastLine(r.stderr || r.stdout)}` };
  return { entries: parseQueueLines(r.stdout) };
}

export const QUEUED_STATES = ['PENDING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'SUSPENDED'];
export const RUNNING_STATES = ['RUNNING', 'COMPLETING', 'STAGE_OUT', 'SIGNALING', 'RESIZING'];
