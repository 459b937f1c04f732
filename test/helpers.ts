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
