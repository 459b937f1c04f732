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

/**
 * A weight file named in model.json, resolved inside `dir`: a saved model is data, so it may not
 * make us read files elsewhere (absolute paths, `..`, links).
 */
function weightFile(dir: string, p: unknown, jsonFile: string): string {
  if (typeof p !== 'string' || !p)
    throw new PiatError('bad-checkpoint', `${jsonFile} names a weight file that is not a file name: ${JSON.stringify(p)}.`);
  const parts = p.split(/[\\/]/);
  if (path.isAbsolute(p) || path.win32.isAbsolute(p) || parts.includes('..')) {
    throw new PiatError(
      'bad-checkpoint',
      `${jsonFile} names the weight file '${p}' outside its folder; weight files must lie inside ${dir}.`,
    );
  }
  const f = path.join(dir, p);
  if (!fs.existsSync(f)) throw new PiatError('bad-checkpoint', `Weight file ${f} named in ${jsonFile} is missing.`);
  const st = fs.lstatSync(f);
  if (st.isSymbolicLink() || !st.isFile())
    throw new PiatError(
      'bad-checkpoint',
      `Weight file ${f} named in ${jsonFile} is a link or not a regular file; weight files must be plain files inside ${dir}.`,
    );
  return f;
}

function checkManifest(json: unknown, jsonFile: string): asserts json is ModelJson {
  const j = json as Partial<ModelJson> | null;
  const bad = (what: string) =>
    new PiatError('bad-checkpoint', `${jsonFile} ${what}; the checkpoint is corrupt or not a tfjs layers model.`);
  if (typeof j !== 'object' || j === null) throw bad('is not a JSON object');
  if (typeof j.modelTopology !== 'object' || j.modelTopology === null) throw bad('has no modelTopology');
  if (!Array.isArray(j.weightsManifest)) throw bad('has no weightsManifest');
  for (const g of j.weightsManifest) {
    if (!g || !Array.isArray(g.paths) || !Array.isArray(g.weights)) throw bad('has a weightsManifest entry without paths or weights');
    for (const w of g.weights) {
      if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0))
        throw bad(`has a malformed weight entry (${JSON.stringify(w)?.slice(0, 80)})`);
      if (w.dtype !== undefined && w.dtype !== 'float32') throw bad(`has weight ${w.name} of dtype ${w.dtype} (only float32 is read)`);
    }
  }
}

/** Reads and verifies a saved model's artifacts. */
export function readModelArtifacts(dir: string): tf.io.ModelArtifacts {
  const jsonFile = path.join(dir, 'model.json');
  if (!fs.existsSync(jsonFile)) throw new PiatError('missing-checkpoint', `No model.json in ${dir}`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  } catch (e) {
    throw new PiatError('bad-checkpoint', `${jsonFile} is not valid JSON (${(e as Error).message}); the checkpoint is corrupt.`);
  }
  checkManifest(json, jsonFile);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const bins = json.weightsManifest.flatMap((g) => g.paths).map((p) => fs.readFileSync(weightFile(dir, p, jsonFile)));
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
  const artifacts = readModelArtifacts(dir);
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (e) {
    throw new PiatError(
      'bad-checkpoint',
      `${path.join(dir, 'model.json')} does not describe a model tfjs can build (${(e as Error).message}).`,
    );
  }
}

/** "dense_0/kernel 784×64, …": a model's weights for messages. */
function weightList(ws: { name: string; shape: number[] }[]): string {
  const items = ws.slice(0, 6).map((w) => `${w.name} ${w.shape.join('×') || 'scalar'}`);
  return items.join(', ') + (ws.length > 6 ? `, … (${ws.length} in all)` : '');
}

/**
 * Copies the weights of `loaded` into `model`, refusing a model of another architecture with a
 * message that says so (tfjs would throw a bare shape error).
 */
export function setWeightsChecked(model: tf.LayersModel, loaded: tf.LayersModel, dir: string): void {
  const want = model.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[] }));
  const got = loaded.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[] }));
  if (want.length !== got.length || want.some((w, i) => w.shape.join('x') !== got[i].shape.join('x'))) {
    throw new PiatError(
      'wrong-architecture',
      `The checkpoint in ${dir} is of another architecture: it holds ${got.length} weights (${weightList(got)}), the model ${model.name} has ${want.length} (${weightList(want)}).`,
    );
  }
  model.setWeights(loaded.getWeights());
}

/** Loads saved weights into an existing model of the same architecture. */
export async function loadWeightsInto(model: tf.LayersModel, dir: string): Promise<void> {
  const loaded = await loadModel(dir);
  try {
    setWeightsChecked(model, loaded, dir);
  } finally {
    loaded.dispose();
  }
}
