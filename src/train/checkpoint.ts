/**
 * Training checkpoints: model (tfjs format), optimizer velocity, RNG and hook state.
 *
 * Written to `checkpoint.tmp`, then swapped in by renames, so at any instant either the new or
 * the previous complete checkpoint exists; the previous one is kept as `checkpoint.old`. Loading verifies checksums and falls back to the
 * previous checkpoint (`checkpoint.old`) when the newest is corrupt.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadWeightsInto, saveModel } from './model-io';
import { PiatError } from '../util/errors';
import { readJson, sha256, writeFileAtomic } from '../util/fsx';

export interface TrainerState {
  /** epochs completed */
  epoch: number;
  rngState: number;
  hooks: Record<string, Record<string, unknown>>;
  /** what an adaptive objective (CFA) learnt so far; absent in checkpoints of older runs */
  objective?: Record<string, unknown>;
  best: { epoch: number; robustAcc: number } | null;
  /** sha256 of the run config, so a resume with another config is refused */
  configHash: string;
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
  fs.rmSync(old, { recursive: true, force: true });
  if (fs.existsSync(final)) fs.renameSync(final, old);
  fs.renameSync(tmp, final);
  // checkpoint.old (the previous epoch) is kept as the fallback should the newest turn out corrupt
}

export interface LoadedCheckpoint {
  state: TrainerState;
  velocity: tf.Tensor[] | null;
  /** which folder it came from (checkpoint, or checkpoint.old after a corrupt newest one) */
  dir: string;
  /** problems met on the way (e.g. the newest checkpoint was corrupt) */
  warnings: string[];
}

async function loadFrom(dir: string, model: tf.LayersModel): Promise<Omit<LoadedCheckpoint, 'warnings'>> {
  const stateFile = path.join(dir, 'state.json');
  if (!fs.existsSync(stateFile)) throw new PiatError('bad-checkpoint', `${stateFile} is missing.`);
  let s: StateFile;
  try {
    s = readJson<StateFile>(stateFile);
  } catch (e) {
    throw new PiatError('bad-checkpoint', `${stateFile} is not valid JSON: ${(e as Error).message}`);
  }
  let velocity: tf.Tensor[] | null = null;
  if (s.optimizer) {
    const bin = fs.readFileSync(path.join(dir, 'optimizer.bin'));
    if (sha256(bin) !== s.optimizer.sha256) throw new PiatError('bad-checkpoint', `${dir}/optimizer.bin does not match its checksum.`);
    const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
    let off = 0;
    velocity = s.optimizer.shapes.map((shape) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const t = tf.tensor(all.subarray(off, off + n), shape, 'float32');
      off += n;
      return t;
    });
  }
  await loadWeightsInto(model, dir);
  const { optimizer: _o, ...state } = s;
  return { state, velocity, dir };
}

/**
 * Loads the newest good checkpoint of a run into `model`, or returns null when the run has none.
 * A corrupt newest checkpoint is reported in `warnings` and the previous one is used.
 */
export async function loadCheckpoint(runDir: string, model: tf.LayersModel): Promise<LoadedCheckpoint | null> {
  const warnings: string[] = [];
  const candidates = ['checkpoint', 'checkpoint.old'].map((d) => path.join(runDir, d)).filter((d) => fs.existsSync(d));
  for (const dir of candidates) {
    try {
      return { ...(await loadFrom(dir, model)), warnings };
    } catch (e) {
      if (!(e instanceof PiatError)) throw e;
      warnings.push(`${dir}: ${e.message}`);
    }
  }
  if (warnings.length) {
    throw new PiatError('bad-checkpoint', `No usable checkpoint in ${runDir}:\n  ${warnings.join('\n  ')}\nDelete the folder to start over.`);
  }
  return null;
}
