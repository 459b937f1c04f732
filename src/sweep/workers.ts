/**
 * PIAT_SWEEP=workers for the notebook pool: the runs a notebook still needs train in parallel
 * child processes on this machine (`piat pool-task FILE`, one run each), a few threads apiece,
 * instead of one after another in the notebook's process: a small network at batch 50 (the overfit
 * profile's) gives ATen's intra-op threads little to split, while separate runs are independent.
 * Each child rebuilds its run through the pool's own trainPool(), so it trains exactly the run the
 * notebook would have; the notebook then re-opens the finished runs as cached ones.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PiatError } from '../util/errors';
import { writeFileAtomic } from '../util/fsx';
import { cpuCount, positiveIntEnv } from '../util/environment';
import { cliPath, PoolJob, taskEnvironment } from './folder';

export interface WorkerRun {
  /** the method's label and seed, for messages */
  label: string;
  runDir: string;
  job: PoolJob;
}

export interface WorkerOptions {
  /** parallel processes (PIAT_WORKERS; default: one per core, at most the number of runs) */
  workers?: number;
  /** ATen threads per process (PIAT_WORKER_THREADS; default: the cores shared out among the workers) */
  threads?: number;
  /** where each run's job file and log go */
  dir: string;
  /** one line per started and finished run (default true) */
  progress?: boolean;
}

/** Worker count and threads from PIAT_WORKERS / PIAT_WORKER_THREADS and the machine's cores. */
export function workerPlan(runs: number, env: NodeJS.ProcessEnv = process.env, cores = cpuCount()): { workers: number; threads: number } {
  const workers = Math.max(1, Math.min(runs, positiveIntEnv('PIAT_WORKERS', env) ?? cores));
  const threads = positiveIntEnv('PIAT_WORKER_THREADS', env) ?? Math.max(1, Math.floor(cores / workers));
  return { workers, threads };
}

const done = (runDir: string) => fs.existsSync(path.join(runDir, 'done.json'));
const slug = (r: WorkerRun) => path.basename(path.dirname(r.runDir)) + '-' + path.basename(r.runDir);
/** What a failed worker said: the CLI's error lines ("piat: …") if any, else the log's last lines. */
function failure(file: string, lines = 8): string {
  if (!fs.existsSync(file)) return '(no log)';
  const all = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  const errors = all.filter((l) => l.startsWith('piat: '));
  return (errors.length ? errors : all.slice(-lines)).join('\n');
}

/**
 * Trains the runs without done.json in parallel worker processes and returns when every one has
 * finished; a failed run is reported with its log's last lines after the others have finished
 * (their work is kept either way: every run checkpoints each epoch and resumes).
 */
export async function trainInWorkers(runs: WorkerRun[], o: WorkerOptions): Promise<void> {
  const todo = runs.filter((r) => !done(r.runDir));
  if (!todo.length) return;
  const plan = workerPlan(todo.length);
  const workers = o.workers ?? plan.workers;
  const threads = o.threads ?? plan.threads;
  const cli = cliPath();
  fs.mkdirSync(o.dir, { recursive: true });
  const say = (s: string) => o.progress !== false && process.stdout.write(s + '\n');
  say(
    `training ${todo.length} run${todo.length > 1 ? 's' : ''} in ${Math.min(workers, todo.length)} worker processes, ${threads} thread${threads > 1 ? 's' : ''} each (logs in ${o.dir})`,
  );
  const env = { ...process.env, ...taskEnvironment(process.env), PIAT_THREADS: String(threads) };
  const failed: { run: WorkerRun; log: string; code: number | null }[] = [];
  // a notebook interrupted or a CLI stopped takes its workers with it (each run keeps its last
  // checkpoint), so that re-executing does not find them still holding the run folders
  const live = new Set<ReturnType<typeof spawn>>();
  const stopAll = () => live.forEach((c) => c.kill('SIGTERM'));
  let next = 0;
  let interrupted = false;
  // Ctrl-C (a notebook's interrupt): stop the workers and start no more; a second Ctrl-C has the default action
  const onSigint = () => {
    interrupted = true;
    next = todo.length;
    process.removeListener('SIGINT', onSigint);
    stopAll();
  };
  process.once('exit', stopAll);
  process.on('SIGINT', onSigint);
  const one = async (): Promise<void> => {
    while (next < todo.length) {
      const run = todo[next++];
      const jobFile = path.join(o.dir, `${slug(run)}.json`);
      const log = path.join(o.dir, `${slug(run)}.log`);
      writeFileAtomic(jobFile, JSON.stringify(run.job, null, 1));
      const t0 = Date.now();
      say(`  ${run.label}: started`);
      const out = fs.openSync(log, 'a');
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [cli, 'pool-task', jobFile], { env, stdio: ['ignore', out, out] });
        live.add(child);
        child.on('error', () => resolve(-1));
        child.on('exit', (c) => {
          live.delete(child);
          resolve(c);
        });
      });
      fs.closeSync(out);
      const minutes = ((Date.now() - t0) / 60000).toFixed(1);
      if (code === 0 && done(run.runDir)) say(`  ${run.label}: done in ${minutes} min`);
      else if (interrupted) say(`  ${run.label}: stopped after ${minutes} min`);
      else {
        failed.push({ run, log, code });
        say(`  ${run.label}: failed after ${minutes} min (exit ${code}; log ${log})`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(workers, todo.length) }, one));
  } finally {
    process.off('exit', stopAll);
    process.off('SIGINT', onSigint);
  }
  if (interrupted)
    throw new PiatError(
      'interrupted',
      `PIAT_SWEEP=workers: interrupted; the workers were stopped and each run's last saved checkpoint stands. Re-execute to resume (logs in ${o.dir}).`,
    );
  if (failed.length) {
    throw new PiatError(
      'worker-failed',
      [
        `PIAT_SWEEP=workers: ${failed.length} of ${todo.length} runs failed; the others finished and are kept. Re-execute to retry (runs resume from their last checkpoint).`,
        ...failed.map((f) => `--- ${f.run.label} (exit ${f.code}), ${f.log}:\n${failure(f.log)}`),
      ].join('\n'),
    );
  }
}
