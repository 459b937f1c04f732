import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';

/** Tests run on the backend the library would pick (wasm here), unless PIAT_BACKEND says otherwise. */
export async function setup(): Promise<void> {
  await initBackend();
}

export function tmpDir(prefix = 'piat-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Relative difference, tolerant of zeros. */
export function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1e-8, Math.abs(a), Math.abs(b));
}

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Starts the torch backend for a test file; false (with a visible note) when it is not built and
 * not required. With PIAT_BACKEND=torch (npm test) a torch backend that cannot start fails.
 */
export async function startTorchOrSkip(): Promise<boolean> {
  try {
    await initBackend({ backend: 'torch' });
    return true;
  } catch (e) {
    if (process.env.PIAT_BACKEND === 'torch') throw e;
    console.log(`# torch backend not built, its tests are skipped: ${(e as Error).message.split('\n')[0]}`);
    return false;
  }
}

/** Runs f with these environment variables set, restoring the previous values after. */
export async function withEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
