/**
 * Save and load LayersModels in tfjs's own format (model.json + weights.bin), from Node and
 * without tfjs-node, so that any tfjs runtime (tf.loadLayersModel) and outside tools can read them.
 * model.json carries a sha256 of weights.bin under `userDefinedMetadata.weightsSha256`, so a
 * truncated or corrupt weight file is detected on load instead of producing wrong numbers.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { PiatError } from '../util/errors';
import { sha256, writeFileAtomic } from '../util/fsx';

function joinWeightData(d: tf.io.WeightData | undefined): Uint8Array {
  if (!d) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(d));
}

/** Writes `dir/model.json` and `dir/weights.bin` (each atomically; weights first). */
export async function saveModel(model: tf.LayersModel, dir: string, metadata: Record<string, unknown> = {}): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const bin = joinWeightData(artifacts.weightData);
      fs.mkdirSync(dir, { recursive: true });
      writeFileAtomic(path.join(dir, 'weights.bin'), bin);
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: 'piat-ts',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        userDefinedMetadata: { ...metadata, weightsSha256: sha256(bin) },
      };
      writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bin.length } };
    }),
  );
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  userDefinedMetadata?: { weightsSha256?: string };
}

/** Reads and verifies a saved model's artifacts. */
export function readModelArtifacts(dir: string): tf.io.ModelArtifacts {
  const jsonFile = path.join(dir, 'model.json');
  if (!fs.existsSync(jsonFile)) throw new PiatError('missing-checkpoint', `No model.json in ${dir}`);
  let json: ModelJson;
  try {
    json = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  } catch (e) {
    throw new PiatError('bad-checkpoint', `${jsonFile} is not valid JSON (${(e as Error).message}); the checkpoint is corrupt.`);
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const bins = json.weightsManifest.flatMap((g) => g.paths).map((p) => {
    const f = path.join(dir, p);
    if (!fs.existsSync(f)) throw new PiatError('bad-checkpoint', `Weight file ${f} named in ${jsonFile} is missing.`);
    return fs.readFileSync(f);
  });
  const bin = Buffer.concat(bins);
  const want = json.userDefinedMetadata?.weightsSha256;
  if (want && sha256(bin) !== want) {
    throw new PiatError('bad-checkpoint', `Weights in ${dir} do not match their checksum: the checkpoint is corrupt or partially written.`);
  }
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (bin.length !== expected) {
    throw new PiatError('bad-checkpoint', `Weights in ${dir} have ${bin.length} bytes, the manifest needs ${expected}.`);
  }
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  return { modelTopology: json.modelTopology, weightSpecs: specs, weightData };
}

/** Loads a model saved by saveModel (or by any tfjs tool writing the same format). */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(tf.io.fromMemory(readModelArtifacts(dir)));
}

/** Loads saved weights into an existing model of the same architecture. */
export async function loadWeightsInto(model: tf.LayersModel, dir: string): Promise<void> {
  const loaded = await loadModel(dir);
  try {
    const ws = loaded.getWeights();
    if (ws.length !== model.weights.length) {
      throw new PiatError('bad-checkpoint', `Checkpoint in ${dir} has ${ws.length} weights, the model has ${model.weights.length}.`);
    }
    model.setWeights(ws);
  } finally {
    loaded.dispose();
  }
}
