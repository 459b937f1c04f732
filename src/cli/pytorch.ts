/**
 * PyTorch checkpoints at the command line: `eval --torch-checkpoint FILE --arch NAME` reads one into a
 * registry architecture (cli/evaluation.ts), `export-torch` writes a saved model as one.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { buildFromTorchCheckpoint, DIALECTS, saveTorchStateDict } from '../models/pytorch';
import { ArrayDataset } from '../data/dataset';
import { loadModel } from '../train/model-io';
import { initBackend } from '../backend';
import { PiatError } from '../util/errors';
import { Call } from './call';

/** A PyTorch checkpoint in a registry architecture built for the data; says on stderr which naming it was read in. */
export function loadTorch(file: string, arch: string, data: ArrayDataset): tf.LayersModel {
  const { model, report } = buildFromTorchCheckpoint(file, arch, { numClasses: data.numClasses, inputShape: data.inputShape, seed: 0 });
  const extra = [
    report.resampled.length ? `resampled ${report.resampled.join(', ')} to the model's grid` : '',
    report.ignored.length ? `ignored ${report.ignored.length} tensor(s) it has no use for` : '',
  ].filter(Boolean);
  console.error(
    `piat: loaded ${file} as ${arch} (${report.dialect} names, ${report.loaded} weights${extra.length ? '; ' + extra.join('; ') : ''})`,
  );
  return model;
}

/** `piat export-torch --checkpoint DIR --to FILE [--arch NAME] [--dialect NAME]` */
export async function exportTorchCommand({ a, backend }: Call): Promise<number> {
  const checkpoint = a.str('checkpoint');
  const to = a.str('to');
  if (checkpoint === undefined || to === undefined)
    throw new PiatError(
      'bad-option',
      'export-torch needs --checkpoint DIR (model.json and weights.bin) and --to FILE (.pt or .safetensors)',
    );
  if (!fs.existsSync(path.join(checkpoint, 'model.json')))
    throw new PiatError('bad-option', `--checkpoint ${checkpoint}: no model.json there`);
  await initBackend(backend);
  const model = await loadModel(checkpoint);
  const arch = a.str('arch');
  const dialect = a.str('dialect');
  saveTorchStateDict(model, to, { arch, dialect });
  console.log(`wrote ${to} (${dialect ?? 'default'} names; load it with torch.load(path, weights_only=True))`);
  model.dispose();
  return 0;
}

/** The dialects each architecture reads and writes, for help text. */
export const DIALECT_HELP = Object.entries(DIALECTS)
  .map(([arch, ds]) => `${arch}: ${ds.map((d) => d.name).join(', ')}`)
  .join('; ');
