/**
 * Training checkpoints: model (tfjs format), optimizer velocity, RNG and hook state.
 *
 * Written to `checkpoint.tmp`, then swapped in by renames, so at any instant either the new or
 * the previous complete checkpoint exists; the previous one is kept as `checkpoint.old`. A write
 * that fails (disk full, no permission) leaves the last good checkpoint loadable. Loading
 * reads and verifies every part (state, optimizer state, manifest, weights) before anything is
 * used; a checkpoint with any unreadable part is corrupt: the previous one is used and the corrupt
 * one is moved aside as `checkpoint.corrupt-<time>`, so it never becomes the next fallback.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { readModelArtifacts, saveModel, setWeightsChecked } from './model-io';
import { PiatError } from '../util/errors';
import { sha256, writeFileAtomic } from '../util/fsx';
import type { Identity } from './identity';

export interface TrainerState {
  /** epochs completed */
  epoch: number;
  rngState: number;
  hooks: Record<string, Record<string, unknown>>;
  /** what an adaptive objective (CFA) learnt so far; absent in checkpoints of older runs */
  objective?: Record<string, unknown>;
  best: { epoch: number; robustAcc: number } | null;
  /** sha256 of the run's identity (older checkpoints: of the training settings, objective and hooks) */
  configHash: string;
  /** what makes the run this run (identity.ts); absent in checkpoints of older runs */
  identity?: Identity;
}

interface StateFile extends TrainerState {
  optimizer: { shapes: number[][]; sha256: string } | null;
}

export async function saveCheckpoint(
  runDir: string,
  model: tf.LayersModel,
  velocity: tf.Tensor[] | null,
  state: TrainerState,
  /** writes further files into the new checkpoint folder before it is swapped in */
  extra?: (dir: string) => Promise<void>,
): Promise<void> {
  const final = path.join(runDir, 'checkpoint');
  const tmp = path.join(runDir, 'checkpoint.tmp');
  const old = path.join(runDir, 'checkpoint.old');
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    await saveModel(model, tmp, { epoch: state.epoch });
    let optimizer: StateFile['optimizer'] = null;
    if (velocity) {
      const parts = velocity.map((v) => new Uint8Array((v.dataSync() as Float32Array).slice().buffer));
      const bin = Buffer.concat(parts);
      writeFileAtomic(path.join(tmp, 'optimizer.bin'), bin);
      optimizer = { shapes: velocity.map((v) => v.shape), sha256: sha256(bin) };
    }
    if (extra) await extra(tmp);
    const file: StateFile = { ...state, optimizer };
    writeFileAtomic(path.join(tmp, 'state.json'), JSON.stringify(file, null, 1));
  } catch (e) {
    // a write failed (disk full, no permission): checkpoint/ and checkpoint.old/ are untouched, and
    // the half-written new one goes, so that its space is free again
    try {
      fs.rmSync(tmp, { recursive: true, force: true });
    } catch {
      /* the error that matters is the write's */
    }
    throw e;
  }
  // rotate only when there is a newest one: after a corrupt one was moved aside, checkpoint.old is
  // the last good checkpoint and stays until a new one is in place. Should a step below fail, a
  // good checkpoint still loads: before the first rename checkpoint/ is whole; between the two,
  // checkpoint/ is absent and checkpoint.old/ (the previous one) is what loadCheckpoint takes.
  if (fs.existsSync(final)) {
    fs.rmSync(old, { recursive: true, force: true });
    fs.renameSync(final, old);
  }
  fs.renameSync(tmp, final);
}

export interface LoadedCheckpoint {
  state: TrainerState;
  velocity: tf.Tensor[] | null;
  /** which folder it came from (checkpoint, or checkpoint.old after a corrupt newest one) */
  dir: string;
  /** problems met on the way (e.g. the newest checkpoint was corrupt and was moved aside) */
  warnings: string[];
}

interface CheckpointParts {
  state: TrainerState;
  optimizer: { shapes: number[][]; values: Float32Array } | null;
  artifacts: tf.io.ModelArtifacts;
}

function corrupt(message: string): PiatError {
  return new PiatError('bad-checkpoint', message);
}

/** Reads and checks a checkpoint's state.json. */
export function readState(dir: string): StateFile {
  const stateFile = path.join(dir, 'state.json');
  if (!fs.existsSync(stateFile)) throw corrupt(`${stateFile} is missing.`);
  let s: StateFile;
  try {
    s = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch (e) {
    throw corrupt(`${stateFile} is not valid JSON: ${(e as Error).message}`);
  }
  if (
    typeof s !== 'object' ||
    s === null ||
    !Number.isInteger(s.epoch) ||
    s.epoch < 0 ||
    typeof s.configHash !== 'string' ||
    typeof s.rngState !== 'number'
  ) {
    throw corrupt(`${stateFile} lacks the epoch, RNG state or config checksum.`);
  }
  return s;
}

/** Reads and verifies the other parts of a checkpoint folder (optimizer state, manifest, weights), using none of them yet. */
function readParts(dir: string, s: StateFile): CheckpointParts {
  const stateFile = path.join(dir, 'state.json');
  let optimizer: CheckpointParts['optimizer'] = null;
  if (s.optimizer) {
    const { shapes, sha256: want } = s.optimizer;
    if (!Array.isArray(shapes) || !shapes.every((sh) => Array.isArray(sh) && sh.every((d) => Number.isInteger(d) && d >= 0)))
      throw corrupt(`${stateFile}: the optimizer state's shapes are malformed.`);
    const binFile = path.join(dir, 'optimizer.bin');
    if (!fs.existsSync(binFile)) throw corrupt(`${binFile} is missing (state.json records optimizer state).`);
    const bin = fs.readFileSync(binFile);
    if (sha256(bin) !== want) throw corrupt(`${binFile} does not match its checksum.`);
    const n = shapes.reduce((sum, sh) => sum + sh.reduce((a, b) => a * b, 1), 0);
    if (bin.length !== n * 4) throw corrupt(`${binFile} has ${bin.length} bytes, its shapes need ${n * 4}.`);
    optimizer = { shapes, values: new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength)) };
  }
  const artifacts = readModelArtifacts(dir);
  const { optimizer: _o, ...state } = s;
  return { state, optimizer, artifacts };
}

/** `checkpoint.corrupt-2025-01-31T12-00-00-000Z`: a name that sorts by time and is valid everywhere. */
function asideName(dir: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  let name = `${dir.replace(/\.old$/, '')}.corrupt-${stamp}`;
  for (let i = 2; fs.existsSync(name); i++) name = `${dir.replace(/\.old$/, '')}.corrupt-${stamp}-${i}`;
  return name;
}

/**
 * Loads the newest good checkpoint of a run into `model`, or returns null when the run has none.
 * `accept` sees each checkpoint's state before its weights are loaded and throws to refuse it (a
 * run with another configuration); that error propagates. A checkpoint with an unreadable part is
 * skipped, and moved aside once an older one has loaded.
 */
export async function loadCheckpoint(
  runDir: string,
  model: tf.LayersModel,
  accept?: (state: TrainerState) => void,
  /** the shapes the optimizer state must have (the trainable weights'), when known */
  velocityShapes?: number[][],
): Promise<LoadedCheckpoint | null> {
  const warnings: string[] = [];
  const bad: string[] = [];
  const candidates = ['checkpoint', 'checkpoint.old'].map((d) => path.join(runDir, d)).filter((d) => fs.existsSync(d));
  for (const dir of candidates) {
    let parts: CheckpointParts;
    try {
      const s = readState(dir);
      // the run's identity first: another run's checkpoint is refused, not taken for a corrupt one
      accept?.(s);
      parts = readParts(dir, s);
      const got = parts.optimizer?.shapes;
      if (got && velocityShapes && JSON.stringify(got) !== JSON.stringify(velocityShapes)) {
        throw corrupt(
          `its optimizer state has ${got.length} tensors of other shapes than the model's ${velocityShapes.length} trainable weights.`,
        );
      }
      // the topology and weights must form a model (a malformed topology is corruption too)
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(parts.artifacts));
      parts.artifacts = { ...parts.artifacts, weightData: undefined };
      try {
        setWeightsChecked(model, loaded, dir);
      } finally {
        loaded.dispose();
      }
    } catch (e) {
      // a refusal (another configuration or architecture) is not corruption: the older checkpoint belongs to the same run
      if (e instanceof PiatError && (e.code === 'config-mismatch' || e.code === 'wrong-architecture')) throw e;
      warnings.push(`${dir} is corrupt: ${e instanceof PiatError ? e.message : `${(e as Error).message ?? e}`}`);
      bad.push(dir);
      continue;
    }
    for (const b of bad) {
      const to = asideName(b);
      fs.renameSync(b, to);
      warnings.push(`moved ${b} aside to ${to}; using ${dir} (epoch ${parts.state.epoch})`);
    }
    const o = parts.optimizer;
    let off = 0;
    const velocity = o
      ? o.shapes.map((shape) => {
          const n = shape.reduce((a, b) => a * b, 1);
          const t = tf.tensor(o.values.subarray(off, off + n), shape, 'float32');
          off += n;
          return t;
        })
      : null;
    return { state: parts.state, velocity, dir, warnings };
  }
  if (warnings.length) {
    throw new PiatError(
      'bad-checkpoint',
      `No usable checkpoint in ${runDir}:\n  ${warnings.join('\n  ')}\nDelete the folder to start over.`,
    );
  }
  return null;
}

/** The epoch and folder of the newest checkpoint on disk (for messages), or null. */
export function savedCheckpoint(runDir: string): { dir: string; epoch: number } | null {
  for (const d of ['checkpoint', 'checkpoint.old']) {
    const dir = path.join(runDir, d);
    try {
      const s = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as { epoch?: unknown };
      if (Number.isInteger(s.epoch)) return { dir, epoch: s.epoch as number };
    } catch {
      /* absent or unreadable: try the older one */
    }
  }
  return null;
}
