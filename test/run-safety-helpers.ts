/** Shared pieces of the run-safety tests (issue 15): a tiny run on the embedded digits, the CLI, fake IDX folders. */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync, SpawnSyncReturns } from 'child_process';
import { gzipSync } from 'zlib';
import { encodeIdx } from '../src/data/idx';
import { EpochRecord } from '../src/train/records';
import { REPO_ROOT } from './helpers';

export const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');

/** A run config that trains in well under a second: an MLP on 24 embedded digits, one epoch, one-step attacks. */
export function tinyConfig(runDir: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const attack = { eps: 0.1, alpha: 0.05, steps: 1 };
  return {
    dataset: 'mnist',
    trainSize: 24,
    testSize: 12,
    model: { arch: 'mlp', hidden: [8] },
    objective: { name: 'pgd-at', attack },
    train: { epochs: 1, batchSize: 12, seed: 3, optimizer: { lr: 0.05 }, eval: { n: 12, attack } },
    runDir,
    ...over,
  };
}

export function cli(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
}

export function writeJson(file: string, v: unknown): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(v, null, 1));
  return file;
}

/** Official-named MNIST-format IDX files with `n` 28×28 images whose pixels encode their index, labels i mod 10. */
export function writeIdxSet(
  dir: string,
  prefix: 'train' | 't10k',
  n: number,
  o: { gzip?: boolean; only?: 'images' | 'labels'; labelShift?: number } = {},
): void {
  fs.mkdirSync(dir, { recursive: true });
  const img = new Uint8Array(n * 784).map((_, k) => (Math.floor(k / 784) * 37 + k) % 256);
  const lbl = new Uint8Array(n).map((_, i) => (i + (o.labelShift ?? 0)) % 10);
  const put = (name: string, bytes: Uint8Array) =>
    fs.writeFileSync(path.join(dir, o.gzip ? `${name}.gz` : name), o.gzip ? gzipSync(bytes) : bytes);
  if (o.only !== 'labels') put(`${prefix}-images-idx3-ubyte`, encodeIdx([n, 28, 28], img));
  if (o.only !== 'images') put(`${prefix}-labels-idx1-ubyte`, encodeIdx([n], lbl));
}

/** Records without their timings, for exact comparison. */
export function strip(rs: EpochRecord[]): Omit<EpochRecord, 'trainSeconds' | 'evalSeconds'>[] {
  return rs.map(({ trainSeconds: _a, evalSeconds: _b, ...r }) => r);
}

/** Runs `fn` with stderr captured. */
export async function captureStderr<T>(fn: () => Promise<T>): Promise<{ value: T; err: string }> {
  const chunks: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => (chunks.push(String(s)), true);
  try {
    const value = await fn();
    return { value, err: chunks.join('') };
  } finally {
    (process.stderr as unknown as { write: typeof orig }).write = orig;
  }
}
