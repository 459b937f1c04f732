/**
 * `piat sweep`: a run config and `--grid key.path=v1,v2` options give one run per grid point, in
 * <runDir>/<point>. Locally the CLI trains them in turn (or every n-th with --shard); with --slurm
 * they become a sweep folder (folder.ts) and one Slurm array job, a task per point.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PiatError } from '../util/errors';
import { expandGrid, validateRunConfig, withOverrides } from '../train/run-config';
import { newManifest, readManifest, SweepManifest, SweepPoint, sweepPaths, taskEnvironment, writeManifest, writeScript } from './folder';
import { SlurmOptions } from './slurm';
import { submitUnfinished } from './status';

export interface GridPoint {
  /** the overrides as a folder name: `objective.beta=6,train.seed=2` */
  tag: string;
  overrides: Record<string, unknown>;
  /** the base config with the overrides and runDir = <base runDir>/<tag> */
  config: Record<string, unknown>;
}

/** The sweep's folder: the base config's runDir (runs/sweep when it has none). */
export function sweepRoot(base: unknown): string {
  const runDir = (base as { runDir?: unknown }).runDir ?? 'runs/sweep';
  if (typeof runDir !== 'string') throw new PiatError('bad-config', `config.runDir: must be a string, got ${JSON.stringify(runDir)}`);
  return runDir;
}

/** Every grid point of `base`; those `check` selects are validated (a bad one is named by its tag). */
export function gridPoints(base: unknown, grids: string[], check: (k: number) => boolean = () => true): GridPoint[] {
  if (!grids.length) throw new PiatError('bad-option', 'sweep needs at least one --grid key.path=v1,v2');
  const points = expandGrid(grids).map((overrides) => {
    const tag = Object.entries(overrides)
      .map(([key, v]) => `${key}=${JSON.stringify(v)}`)
      .join(',')
      .replace(/[^A-Za-z0-9_.,=-]/g, '');
    return {
      tag,
      overrides,
      config: withOverrides(base as Record<string, unknown>, { ...overrides, runDir: path.join(sweepRoot(base), tag) }),
    };
  });
  // every point is checked before the first one trains (or is submitted)
  points.forEach(({ tag, config }, k) => {
    if (!check(k)) return;
    try {
      validateRunConfig(config);
    } catch (e) {
      if (e instanceof PiatError) throw new PiatError(e.code, `sweep point ${tag}: ${e.message}`);
      throw e;
    }
  });
  return points;
}

export interface SlurmSweepResult {
  dir: string;
  script: string;
  points: number;
  /** null: a dry run, or nothing left to submit */
  jobId: string | null;
  /** the points submitted now */
  submitted: number[];
  /** points that were already done, queued or running (a sweep submitted again) */
  skipped: number;
}

/**
 * Writes the sweep folder of a config grid (sweep.json, slurm/sweep.sbatch) and, unless `dryRun`,
 * submits every point not already done, queued or running. A folder that holds another grid is refused.
 */
export function slurmConfigSweep(
  points: GridPoint[],
  slurm: SlurmOptions,
  o: { dir: string; dryRun?: boolean; backend?: string },
): SlurmSweepResult {
  const sweepPoints: SweepPoint[] = points.map((p, index) => {
    const runDir = path.resolve(String(p.config.runDir));
    const config = { ...p.config, runDir };
    return {
      index,
      tag: p.tag,
      fields: p.overrides,
      runDir,
      epochs: Number((p.config.train as { epochs?: number }).epochs),
      job: { kind: 'config', config },
    };
  });
  let m: SweepManifest;
  if (fs.existsSync(sweepPaths(o.dir).manifest)) {
    m = readManifest(o.dir);
    const changed = sweepPoints.findIndex((p, i) => JSON.stringify(p.job) !== JSON.stringify(m.points[i]?.job));
    const what =
      m.kind !== 'config'
        ? "the notebook pool's runs"
        : m.points.length !== sweepPoints.length
          ? `${m.points.length} points, not ${sweepPoints.length}`
          : changed !== -1
            ? `other settings at point ${changed} (${sweepPoints[changed].tag})`
            : null;
    if (what)
      throw new PiatError(
        'bad-config',
        `${o.dir} already holds a sweep with ${what}; give this grid another runDir, or delete ${sweepPaths(o.dir).manifest} if that sweep is no longer wanted`,
      );
  } else {
    m = newManifest(o.dir, 'config', slurm);
    m.points = sweepPoints;
  }
  m.slurm = slurm;
  writeManifest(o.dir, m);
  const script = writeScript(o.dir, m, taskEnvironment(process.env, o.backend));
  if (o.dryRun) return { dir: o.dir, script, points: m.points.length, jobId: null, submitted: [], skipped: 0 };
  const r = submitUnfinished(o.dir);
  return {
    dir: o.dir,
    script,
    points: m.points.length,
    jobId: r.jobId,
    submitted: r.submitted.map((x) => x.index),
    skipped: m.points.length - r.submitted.length,
  };
}
