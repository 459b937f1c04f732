import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { twoCircles } from '../src/data/toy';
import type { TrainConfig } from '../src/train/trainer';

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

/**
 * Runs `f` once to warm up (plans, velocities, caches), then `times` more, and asserts that neither
 * tfjs's tensor count nor the torch addon's grew over those (the addon's count where the backend has one).
 */
export async function assertNoTensorGrowth(f: () => unknown, times: number): Promise<void> {
  await f();
  const start = tf.memory() as tf.MemoryInfo & { nativeTensors?: number };
  for (let i = 0; i < times; i++) await f();
  const end = tf.memory() as tf.MemoryInfo & { nativeTensors?: number };
  assert.equal(end.numTensors, start.numTensors, 'tfjs tensors grew');
  assert.equal(end.nativeTensors, start.nativeTensors, 'ATen tensors grew');
}

/**
 * The small training set-up the trainer's tests share: two-circles data (train and test), a 3-step
 * PGD training attack, and a config of `epochs` epochs evaluated with 5-step PGD on 60 test points.
 */
export function toyTraining(epochs: number) {
  const attack = { eps: 0.03, alpha: 0.0075, steps: 3 };
  const config: TrainConfig = {
    epochs,
    batchSize: 40,
    seed: 5,
    optimizer: { lr: 0.2, momentum: 0.9, weightDecay: 1e-4 },
    eval: { n: 60, attack: { ...attack, steps: 5 } },
  };
  return { data: twoCircles({ perClass: 60, seed: 7 }), test: twoCircles({ perClass: 30, seed: 8 }), attack, config };
}
