/**
 * PIAT_SWEEP=slurm for the notebook pool (notebooks 03–10): instead of training its missing runs in
 * the notebook, compareMethods() hands them to Slurm as one array job (one task a run, in the pool
 * folder's sweep/), and stops the cell with a message naming the job. Re-executing the notebook once
 * the runs are done re-opens them (finished runs are re-used, under the run folder's identity check)
 * and renders. Each task rebuilds its run through the pool's own trainPool() from the pool settings
 * and the method's table name, so it trains exactly the run the notebook would have trained.
 */
import * as fs from 'fs';
import * as path from 'path';
import { oneOf, PiatError } from '../util/errors';
import { PROJECT_ROOT, runsBase } from './profiles';
import { methodLabel, MethodVariant } from './methods';
import {
  newManifest,
  PoolJob,
  readManifest,
  SweepManifest,
  submitPoints,
  sweepPaths,
  taskEnvironment,
  writeManifest,
  writeScript,
} from '../sweep/folder';
import { slurmOptionsFromEnv } from '../sweep/slurm';
import { PointStatus, sweepStatus } from '../sweep/status';

export const SWEEP_MODES = ['local', 'workers', 'slurm'] as const;
export type SweepMode = (typeof SWEEP_MODES)[number];

/**
 * PIAT_SWEEP: `local` (default) trains in this process, `workers` in parallel processes on this
 * machine (src/sweep/workers.ts), `slurm` hands the pool's missing runs to Slurm.
 */
export function sweepMode(env: NodeJS.ProcessEnv = process.env): SweepMode {
  const v = env.PIAT_SWEEP?.trim();
  return v ? oneOf('PIAT_SWEEP', v, SWEEP_MODES) : 'local';
}

/**
 * The pool method behind a run label ("PIAT+NMSE λ=2" → PIAT+NMSE with nmseLambda 2), checked by
 * labelling it again: a label that does not come back the same cannot be rebuilt and is refused.
 */
export function poolMethodFromLabel(label: string): { name: string; variant?: MethodVariant } {
  const m = /^(\S+)(?: λ=(\S+))?(?: β=(\S+))?$/.exec(label);
  const variant: MethodVariant = {};
  if (m?.[2] !== undefined) variant.nmseLambda = Number(m[2]);
  if (m?.[3] !== undefined) variant.piatSchedule = { kind: 'fixed', beta: Number(m[3]) };
  if (!m || methodLabel(m[1], variant) !== label) {
    throw new PiatError(
      'cannot-hand-off',
      `PIAT_SWEEP=slurm: the pool run '${label}' cannot be rebuilt from its name (only a method's table name with λ=… and a fixed β=… can); train it locally (PIAT_SWEEP=local)`,
    );
  }
  return Object.keys(variant).length ? { name: m[1], variant } : { name: m[1] };
}

/** What compareMethods knows of a pool: trainPool's meta (experiment 'pool', profile, settings). */
export interface PoolMeta {
  experiment: 'pool';
  profile: string;
  pool: Record<string, unknown>;
}

export function isPoolMeta(meta: Record<string, unknown> | undefined): meta is Record<string, unknown> & PoolMeta {
  return meta?.experiment === 'pool' && typeof meta.profile === 'string' && typeof meta.pool === 'object' && meta.pool !== null;
}

/** The sweep folder of a pool folder (runs/pool/<profile>/<data>-<arch>/sweep). */
export const poolSweepDir = (root: string) => path.join(root, 'sweep');

const done = (runDir: string) => fs.existsSync(path.join(runDir, 'done.json'));

/**
 * Hands the runs without done.json to Slurm and throws PiatError('runs-pending') saying where they
 * are; returns when every run is done (the caller then re-opens them).
 */
export function handOffPoolRuns(o: { root: string; meta: PoolMeta; runs: { label: string; runDir: string }[] }): void {
  const missing = o.runs.filter((r) => !done(r.runDir));
  if (!missing.length) return;
  const dir = poolSweepDir(o.root);
  const slurm = slurmOptionsFromEnv();
  const m: SweepManifest = fs.existsSync(sweepPaths(dir).manifest) ? readManifest(dir) : newManifest(dir, 'pool', slurm);
  if (m.kind !== 'pool') throw new PiatError('not-a-sweep', `${dir} holds a config sweep, not the pool's`);
  const before = m.points.length ? new Map(sweepStatus(dir).points.map((p) => [p.index, p])) : new Map<number, PointStatus>();
  const base = runsBase();
  const indices = missing.map((r) => {
    const job: PoolJob = { kind: 'pool', profile: o.meta.profile, pool: o.meta.pool, method: poolMethodFromLabel(r.label), runsBase: base };
    const runDir = path.resolve(r.runDir);
    const fields = { method: r.label };
    const known = m.points.find((p) => p.runDir === runDir);
    if (!known) {
      m.points.push({ index: m.points.length, tag: r.label, fields, runDir, epochs: Number(o.meta.pool.epochs), job });
      return m.points.length - 1;
    }
    const st = before.get(known.index);
    if (JSON.stringify(known.job) !== JSON.stringify(job)) {
      if (st && (st.state === 'pending' || st.state === 'running')) {
        throw new PiatError(
          'runs-pending',
          `${r.label}: a run with other settings is ${st.state} for ${runDir} (task ${st.task}); wait for it or cancel it (scancel ${st.task}) before handing this one off`,
        );
      }
      Object.assign(known, { job, fields, epochs: Number(o.meta.pool.epochs) });
    }
    return known.index;
  });
  m.slurm = slurm;
  writeManifest(dir, m);
  writeScript(dir, m, taskEnvironment(process.env));
  const waiting = indices.filter((i) => ['pending', 'running'].includes(before.get(i)?.state ?? ''));
  const failed = indices.filter((i) => before.get(i)?.state === 'failed');
  const submit = indices.filter((i) => !waiting.includes(i) && !failed.includes(i));
  const jobId = submit.length ? submitPoints(dir, m, submit) : null;
  const name = (i: number) => m.points[i].tag;
  const cli = `node ${path.join(PROJECT_ROOT, 'dist', 'src', 'cli.js')}`;
  throw new PiatError(
    'runs-pending',
    [
      `PIAT_SWEEP=slurm: ${missing.length} of ${o.runs.length} runs are not trained yet; this cell stops here. Re-execute the notebook once they are done.`,
      ...(jobId ? [`  submitted to Slurm as job ${jobId}: ${submit.map(name).join(', ')}`] : []),
      ...waiting.map((i) => `  ${before.get(i)?.state}: ${name(i)} (${before.get(i)?.task ?? 'no task id'})`),
      ...failed.map((i) => `  failed: ${name(i)} (${before.get(i)?.detail}${before.get(i)?.log ? `; log ${before.get(i)?.log}` : ''})`),
      ...(failed.length ? [`  run the failed ones again: ${cli} sweep-status ${dir} --resubmit-failed`] : []),
      `  follow them: ${cli} sweep-status ${dir}`,
    ].join('\n'),
  );
}
