/**
 * A sweep folder: `sweep.json` lists the points (each a run folder and how to train it), `slurm/`
 * holds the array job's script, its logs and one file per task attempt. `piat sweep --slurm` makes
 * one for a config grid; the notebook pool makes one per pool folder (runs/pool/<profile>/<data>-<arch>/sweep)
 * when PIAT_SWEEP=slurm.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PiatError } from '../util/errors';
import { readJson, sha256, writeFileAtomic } from '../util/fsx';
import { PACKAGE_ROOT } from '../util/paths';
import { sbatch, SlurmOptions, slurmScript } from './slurm';

/** A point of a config grid: the run config with its overrides and an absolute runDir. */
export interface ConfigJob {
  kind: 'config';
  config: Record<string, unknown>;
}

/** A run of the notebook pool, rebuilt by the task through the pool's own trainPool(). */
export interface PoolJob {
  kind: 'pool';
  profile: string;
  /** the pool's settings (PoolConfig) as the notebook had them */
  pool: Record<string, unknown>;
  /** the method by its table name and variant (PoolMethod of src/experiments/pool.ts, as JSON) */
  method: { name: string; variant?: object };
  /** PIAT_RUNS of the notebook (absolute): the pool's folders live under it */
  runsBase: string;
  /** also evaluate Best and Final with the pool's final attacks (cached beside the run, as the notebook would) */
  evaluate?: boolean;
}

export type SweepJob = ConfigJob | PoolJob;

export interface SweepPoint {
  /** the array task index */
  index: number;
  /** the grid overrides (`objective.beta=6,train.seed=2`) or the method's label */
  tag: string;
  /** the values that define the point: grid keys, or method and pool settings */
  fields: Record<string, unknown>;
  /** absolute */
  runDir: string;
  /** epochs the run trains */
  epochs: number;
  job: SweepJob;
}

export interface Submission {
  jobId: string;
  indices: number[];
  at: string;
}

export interface SweepManifest {
  version: 1;
  kind: 'config' | 'pool';
  /** every submission's Slurm job name: squeue finds the sweep's tasks by it, hand submissions included */
  jobName: string;
  createdAt: string;
  /** the tasks' working directory (relative data folders in configs resolve against it) */
  workDir: string;
  slurm: SlurmOptions;
  points: SweepPoint[];
  submissions: Submission[];
}

export const MANIFEST = 'sweep.json';

/** Where a sweep folder keeps its parts. */
export function sweepPaths(dir: string) {
  const slurm = path.join(dir, 'slurm');
  return {
    manifest: path.join(dir, MANIFEST),
    script: path.join(slurm, 'sweep.sbatch'),
    logs: path.join(slurm, 'logs'),
    log: (jobId: string, index: number) => path.join(slurm, 'logs', `${jobId}_${index}.out`),
    task: (index: number) => path.join(slurm, 'tasks', `${index}.json`),
  };
}

export function readManifest(dir: string): SweepManifest {
  const file = sweepPaths(dir).manifest;
  if (!fs.existsSync(file))
    throw new PiatError(
      'not-a-sweep',
      `${dir} is not a sweep folder: no ${MANIFEST} there (piat sweep --slurm writes one, and so does the notebook pool with PIAT_SWEEP=slurm)`,
    );
  const m = readJson<SweepManifest>(file);
  if (m.version !== 1 || !Array.isArray(m.points))
    throw new PiatError('not-a-sweep', `${file} is not a sweep manifest this version of piat reads`);
  return m;
}

export function writeManifest(dir: string, m: SweepManifest): void {
  writeFileAtomic(sweepPaths(dir).manifest, JSON.stringify(m, null, 1));
}

/** A new manifest; the job name is unique to the folder so that squeue tells sweeps apart. */
export function newManifest(dir: string, kind: SweepManifest['kind'], slurm: SlurmOptions): SweepManifest {
  const abs = path.resolve(dir);
  return {
    version: 1,
    kind,
    jobName: `piat-${path
      .basename(abs)
      .replace(/[^A-Za-z0-9_.-]/g, '')
      .slice(0, 24)}-${sha256(abs).slice(0, 8)}`,
    createdAt: new Date().toISOString(),
    workDir: process.cwd(),
    slurm,
    points: [],
    submissions: [],
  };
}

/** The PIAT_* settings a task must share with the submitting shell (backend, threads, data and runs folders). */
export function taskEnvironment(env: NodeJS.ProcessEnv, backend?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    // PIAT_SWEEP and PIAT_SLURM are about submitting; the task itself trains
    if (k.startsWith('PIAT_') && v !== undefined && !['PIAT_SWEEP', 'PIAT_SLURM', 'PIAT_PROGRESS'].includes(k)) out[k] = v;
  }
  if (backend) out.PIAT_BACKEND = backend;
  return { ...out, PIAT_SWEEP: 'local', PIAT_PROGRESS: 'lines' };
}

/** The built CLI that tasks run (notebooks load the TypeScript source, the cluster runs dist/). */
export function cliPath(): string {
  const cli = path.join(PACKAGE_ROOT, 'dist', 'src', 'cli.js');
  if (!fs.existsSync(cli))
    throw new PiatError('missing-file', `${cli} is missing: Slurm tasks run the built CLI; run 'npm run build' first`);
  return cli;
}

/** Writes the array job's script for every point of the manifest (for `sbatch script` by hand too). */
export function writeScript(dir: string, m: SweepManifest, env: Record<string, string>): string {
  const p = sweepPaths(path.resolve(dir));
  fs.mkdirSync(p.logs, { recursive: true });
  fs.mkdirSync(path.dirname(p.task(0)), { recursive: true });
  const text = slurmScript({
    jobName: m.jobName,
    indices: m.points.map((x) => x.index),
    slurm: m.slurm,
    workDir: m.workDir,
    logPattern: path.join(p.logs, '%A_%a.out'),
    command: [process.execPath, cliPath(), 'sweep-task', path.resolve(dir), '--index'],
    env,
  });
  fs.writeFileSync(p.script, text, { mode: 0o755 });
  return p.script;
}

/** Submits the given points as one array job and records the submission. */
export function submitPoints(dir: string, m: SweepManifest, indices: number[]): string {
  const jobId = sbatch(sweepPaths(dir).script, indices, m.slurm.maxParallel);
  m.submissions.push({ jobId, indices: [...indices].sort((a, b) => a - b), at: new Date().toISOString() });
  writeManifest(dir, m);
  return jobId;
}
