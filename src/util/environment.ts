/** The environment a run executed in, recorded next to its results. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PACKAGE_ROOT } from './paths';
import { PiatError } from './errors';
import * as tf from '@tensorflow/tfjs';

/** The cores this process may use (what ATen's default thread count and the pool's workers go by). */
export function cpuCount(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** A whole number ≥ 1 from an environment variable (PIAT_THREADS, PIAT_WORKERS, …); unset or blank is undefined. */
export function positiveIntEnv(name: string, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env[name]?.trim();
  if (!v) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new PiatError('bad-option', `${name} must be a whole number ≥ 1, got '${v}'`);
  return n;
}

export function environment(): Record<string, unknown> {
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    tfjs: tf.version.tfjs,
    piatTs: (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    source: sourceRevision(),
  };
}

let revision: { commit: string; modified: boolean } | null | undefined;

/**
 * The git commit of the code that ran, and whether its computing code (src/, native/) had
 * uncommitted changes or new files; null outside a git checkout or without git. Read once per process.
 */
export function sourceRevision(): { commit: string; modified: boolean } | null {
  if (revision !== undefined) return revision;
  // --no-optional-locks: runs starting together never hold the user's index lock
  const git = (...args: string[]) =>
    execFileSync('git', ['--no-optional-locks', '-C', PACKAGE_ROOT, ...args], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    // new files count as changes too
    revision = { commit: git('rev-parse', 'HEAD'), modified: git('status', '--porcelain', '--', 'src', 'native') !== '' };
  } catch {
    revision = null;
  }
  return revision;
}
