/**
 * PyTorch checkpoints in and out of the registered models.
 *
 *   loadTorchStateDict(model, 'resnet18.pt')           torch.save zip or .safetensors, any dialect
 *   saveTorchStateDict(model, 'out.pt' | 'out.safetensors')
 *
 * Loading is all or nothing, as PyTorch's load_state_dict(strict=True): every weight of the model
 * must be found with a shape that fits, every tensor of the file must be used (or ignored by name),
 * else the error names the keys and no weight changes. Which naming the file uses (pytorch-cifar,
 * torchvision, TRADES, timm, ours) is found from its keys; `module.` prefixes (DataParallel) and
 * a wrapping dict ({'state_dict': …}, {'model': …}) are handled.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { PiatError } from '../../util/errors';
import { writeFileAtomic } from '../../util/fsx';
import { buildModel, ModelInput, ModelOptions, modelEntry } from '../registry';
import { ARCH_OF_MODEL_NAME, Dialect, DIALECTS } from './dialects';
import { alwaysIgnored, Named, ShapeError, WeightPlan, weightPlans } from './mapping';
import { readSafetensors, writeSafetensors } from './safetensors';
import { fromFloat32, StateDict, TorchTensor, toFloat32 } from './tensor';
import { readTorchZip, writeTorchZip } from './torch-zip';

export type { StateDict, TorchTensor } from './tensor';
export { DIALECTS } from './dialects';
export type { Dialect } from './dialects';
export { findPretrained, PRETRAINED, pretrainedDir, pretrainedHowTo } from './pretrained';
export type { PretrainedSource } from './pretrained';

export interface LoadTorchOptions {
  /** the registered architecture (default: from the model's name) */
  arch?: string;
  /** the naming to expect (default: the one whose keys the file has) */
  dialect?: string;
  /** our layers to leave as they are (e.g. ['head'] to fine-tune a pretrained ViT on other classes); their PyTorch keys are ignored */
  skipLayers?: string[];
  /** the entry of a wrapping dict that holds the state_dict (default: the file's tensors, or its 'state_dict', 'model_state_dict', 'model' or 'net') */
  key?: string;
}

export interface LoadReport {
  arch: string;
  dialect: string;
  /** weights set from the file */
  loaded: number;
  /** file keys that were ignored (unused modules, counters, skipped layers) */
  ignored: string[];
  /** weights left as they were (skipped layers) */
  kept: string[];
  /** weights resampled to the model's grid (ViT patch and position embeddings) */
  resampled: string[];
}

const WRAPPERS = ['state_dict', 'model_state_dict', 'model', 'net', 'state_dict_ema'];

function isTensor(v: unknown): v is TorchTensor {
  return !!v && typeof v === 'object' && 'bytes' in v && 'shape' in v && 'dtype' in v;
}

/** The tensors of a checkpoint file (torch.save zip or safetensors), unwrapped. */
export function readStateDict(file: string, o: { key?: string } = {}): StateDict {
  if (!fs.existsSync(file)) throw new PiatError('missing-checkpoint', `No PyTorch checkpoint at ${file}.`);
  const bytes = new Uint8Array(fs.readFileSync(file));
  const zip = bytes[0] === 0x50 && bytes[1] === 0x4b;
  if (!zip && bytes[0] === 0x80)
    throw new PiatError(
      'bad-checkpoint',
      `${file} is a legacy (pre-1.6) torch.save pickle, which is not read; re-save it with a recent PyTorch (torch.save(torch.load(f), f)) or as safetensors.`,
    );
  if (!zip) return readSafetensors(bytes, file);
  const obj = readTorchZip(bytes, file);
  if (!(obj instanceof Map))
    throw new PiatError('bad-checkpoint', `${file} holds a ${isTensor(obj) ? 'single tensor' : typeof obj}, not a state_dict.`);
  let dict = obj;
  const keys = o.key ? [o.key] : WRAPPERS;
  if (o.key || ![...obj.values()].some(isTensor)) {
    const k = keys.find((k) => obj.get(k) instanceof Map);
    if (!k)
      throw new PiatError(
        'bad-checkpoint',
        `${file} holds no tensors at its top level and no state_dict under ${keys.map((k) => `'${k}'`).join(', ')}; its keys: ${[...obj.keys()].slice(0, 12).join(', ')}.`,
      );
    dict = obj.get(k) as Map<unknown, unknown>;
  }
  const out: StateDict = new Map();
  for (const [k, v] of dict) if (isTensor(v)) out.set(String(k), v);
  // nn.DataParallel / DistributedDataParallel save every key under 'module.'
  const names = [...out.keys()];
  if (names.length && names.every((n) => n.startsWith('module.'))) return new Map([...out].map(([k, v]) => [k.slice('module.'.length), v]));
  return out;
}

function archOf(model: tf.LayersModel, arch?: string): string {
  const a = arch ?? ARCH_OF_MODEL_NAME[model.name];
  if (!a || !DIALECTS[a])
    throw new PiatError(
      'unknown-option',
      `No PyTorch naming for ${arch ? `architecture '${arch}'` : `the model '${model.name}'`}; pass arch: one of ${Object.keys(DIALECTS).join(', ')}.`,
    );
  return a;
}

function dialectsOf(arch: string, name?: string): Dialect[] {
  const all = DIALECTS[arch];
  if (!name) return all;
  const d = all.find((x) => x.name === name);
  if (!d)
    throw new PiatError('unknown-option', `Unknown dialect '${name}' for ${arch}. Expected one of: ${all.map((x) => x.name).join(', ')}.`);
  return [d];
}

const listKeys = (keys: string[], n = 8) => keys.slice(0, n).join(', ') + (keys.length > n ? `, … (${keys.length} in all)` : '');

/** Picks the dialect whose keys the file has (all required keys present), or explains the closest. */
function chooseDialect(model: tf.LayersModel, arch: string, sd: StateDict, o: LoadTorchOptions, file: string) {
  const skip = (plan: WeightPlan) => (o.skipLayers ?? []).some((l) => plan.name.startsWith(`${l}/`));
  const tries = dialectsOf(arch, o.dialect).map((dialect) => {
    const plans = weightPlans(model, dialect);
    const used = plans.filter((p) => !skip(p));
    const missing = used.flatMap((p) => p.keys.filter((k) => !k.optional && !sd.has(k.key)).map((k) => k.key));
    return { dialect, plans, used, missing };
  });
  const best = tries.reduce((a, b) => (b.missing.length < a.missing.length ? b : a));
  if (best.missing.length) {
    const sample = listKeys([...sd.keys()]);
    throw new PiatError(
      'wrong-architecture',
      `${file} does not hold a ${arch}: ${best.missing.length} of its weights are missing in the file's closest naming (${best.dialect.name}: ${best.dialect.source}), e.g. ${listKeys(best.missing)}. ` +
        `The file's keys: ${sample}. Nothing was loaded.`,
    );
  }
  return { ...best, skipped: best.plans.filter(skip) };
}

/**
 * Loads a PyTorch checkpoint into a built model (all weights, or none). Returns what it did;
 * errors name the key, the shape and the file.
 */
export function loadTorchStateDict(model: tf.LayersModel, file: string, o: LoadTorchOptions = {}): LoadReport {
  return loadStateDictInto(model, readStateDict(file, o), file, o);
}

/** loadTorchStateDict for tensors already read (`file` names them in messages). */
export function loadStateDictInto(model: tf.LayersModel, sd: StateDict, file: string, o: LoadTorchOptions = {}): LoadReport {
  const arch = archOf(model, o.arch);
  const { dialect, used, skipped } = chooseDialect(model, arch, sd, o, file);
  const consumed = new Set(used.flatMap((p) => p.keys.map((k) => k.key)));
  const skippedKeys = new Set(skipped.flatMap((p) => p.keys.map((k) => k.key)));
  const unused = [...sd.keys()].filter((k) => !consumed.has(k));
  const ignorable = (k: string) => skippedKeys.has(k) || alwaysIgnored(k) || dialect.ignore?.test(k) === true;
  const ignored = unused.filter(ignorable);
  const unexpected = unused.filter((k) => !ignorable(k));
  if (unexpected.length)
    throw new PiatError(
      'wrong-architecture',
      `${file} holds ${unexpected.length} tensor(s) that the ${arch} (${dialect.name} names) has no place for: ${listKeys(unexpected)}. Nothing was loaded.`,
    );
  const values = new Map<number, Float32Array>();
  const resampled: string[] = [];
  for (const plan of used) {
    const named = plan.keys.map(({ key }) => {
      const t = sd.get(key);
      return t ? ({ key, shape: t.shape, values: toFloat32(t, `${key} in ${file}`) } as Named) : undefined;
    });
    try {
      values.set(plan.index, plan.fromTorch(named));
    } catch (e) {
      if (!(e instanceof ShapeError)) throw e;
      const head = /^(head|fc|linear|logits)\./.test(plan.keys[0].key)
        ? ` (another class count? pass skipLayers: ['${plan.name.split('/')[0]}'] to keep the model's own)`
        : '';
      throw new PiatError('wrong-architecture', `${file}: ${e.message}, for ${plan.name}${head}. Nothing was loaded.`);
    }
    if (plan.resamples && named[0]!.values.length !== values.get(plan.index)!.length) resampled.push(plan.name);
  }
  tf.tidy(() => model.setWeights(model.weights.map((w, i) => (values.has(i) ? tf.tensor(values.get(i)!, w.shape as number[]) : w.read()))));
  return {
    arch,
    dialect: dialect.name,
    loaded: used.length,
    ignored,
    kept: skipped.map((p) => p.name),
    resampled,
  };
}

/**
 * The registry options a checkpoint was built with, read from its shapes where the registry has an
 * option for them (cnn-fc's fully connected width, the MLP's hidden widths).
 */
export function inferModelOptions(arch: string, sd: StateDict): ModelOptions {
  if (arch === 'cnn-fc') {
    const fc1 = sd.get('fc1.weight');
    return fc1 ? { fcWidth: fc1.shape[0] } : {};
  }
  if (arch === 'mlp') {
    const hidden: number[] = [];
    for (let i = 0; sd.has(`dense_${i}.weight`); i++) hidden.push(sd.get(`dense_${i}.weight`)!.shape[0]);
    return hidden.length ? { hidden } : {};
  }
  return {};
}

/**
 * A registered architecture built for the data (`input`) and loaded from a PyTorch checkpoint: what
 * `piat eval --torch-checkpoint FILE --arch NAME` evaluates.
 */
export function buildFromTorchCheckpoint(
  file: string,
  arch: string,
  input: ModelInput,
  o: LoadTorchOptions & { options?: ModelOptions } = {},
): { model: tf.LayersModel; report: LoadReport } {
  modelEntry(arch);
  const sd = readStateDict(file, o);
  const model = buildModel(arch, input, { ...inferModelOptions(arch, sd), ...o.options });
  try {
    return { model, report: loadStateDictInto(model, sd, file, { ...o, arch }) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

export interface SaveTorchOptions {
  arch?: string;
  /** the naming to write (default: the architecture's first, e.g. pytorch-cifar for ResNet-18, timm for ViTs) */
  dialect?: string;
  /** 'torch' (torch.save zip) or 'safetensors' (default: from the file's extension) */
  format?: 'torch' | 'safetensors';
}

/** The model's weights as a PyTorch state_dict in the named dialect. */
export function toStateDict(model: tf.LayersModel, o: { arch?: string; dialect?: string } = {}): StateDict {
  const arch = archOf(model, o.arch);
  const dialect = dialectsOf(arch, o.dialect)[0];
  const out: StateDict = new Map();
  for (const plan of weightPlans(model, dialect)) {
    let named: Named[];
    try {
      named = plan.toTorch(model.weights[plan.index].read().dataSync() as Float32Array);
    } catch (e) {
      throw new PiatError('bad-value', `Cannot write ${arch} in the ${dialect.name} naming: ${(e as Error).message}.`);
    }
    for (const n of named) out.set(n.key, fromFloat32(n.values, n.shape));
  }
  for (const [k, v] of dialect.exportExtra?.(out) ?? []) out.set(k, v as TorchTensor);
  return out;
}

/** Writes the model as torch.save(state_dict) (loadable with torch.load(f, weights_only=True)) or as safetensors, atomically. */
export function saveTorchStateDict(model: tf.LayersModel, file: string, o: SaveTorchOptions = {}): void {
  const sd = toStateDict(model, o);
  const format = o.format ?? (file.endsWith('.safetensors') ? 'safetensors' : 'torch');
  writeFileAtomic(file, format === 'safetensors' ? writeSafetensors(sd, { format: 'pt' }) : writeTorchZip(sd));
}
