/**
 * A run folder's identity: everything that changes what training computes — the training settings
 * (defaults filled in, so an omitted default and the written value are the same run), the
 * objective and hooks, the data (names, sizes and a checksum of the examples), the network
 * (architecture and initial weights, which cover the seed) and the backend family — plus what the
 * caller adds (a run config's dataset, data folder and model fields). It is stored in every
 * checkpoint; resuming under another identity is refused, naming the fields that differ.
 * Not part of it: where the run is written, progress output, keepEpochCheckpoints.
 */
import { createHash } from 'crypto';
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset } from '../data/dataset';
import { DYNAMIC_DEFAULTS } from '../piat/schedule';
import { PgdOptions } from '../attacks/pgd';
import { PiatError } from '../util/errors';
import { Objective } from '../objectives/types';
import { TrainerHook } from './hooks';
import type { TrainConfig } from './config-schema';

export type Identity = Record<string, unknown>;

export interface IdentityInput {
  config: TrainConfig;
  /** the evaluation attack train() uses (its default filled in) */
  evalAttack: PgdOptions | null;
  objective: Objective;
  hooks: TrainerHook[];
  model: tf.LayersModel;
  train: ArrayDataset;
  test?: ArrayDataset;
  validation?: ArrayDataset;
  backend: string;
  /** the caller's own fields (e.g. run-config.ts's runConfigIdentity) */
  extra?: Identity;
}

function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

export function datasetIdentity(ds: ArrayDataset): Identity {
  const h = createHash('sha256').update(bytesOf(ds.features)).update(bytesOf(ds.labels));
  return {
    name: ds.name,
    size: ds.size,
    inputShape: ds.inputShape,
    numClasses: ds.numClasses,
    augmentation: ds.augmentation ?? null,
    sha256: h.digest('hex'),
  };
}

/** Architecture (layer classes and weight shapes; layer names are left out: tfjs numbers them per process) and the initial weights. */
export function networkIdentity(model: tf.LayersModel): Identity {
  const arch = model.layers.map((l) => `${l.getClassName()}(${l.weights.map((w) => w.shape.join('x')).join(',')})`).join(' ');
  const init = createHash('sha256');
  for (const w of model.weights) init.update(bytesOf(w.read().dataSync() as Float32Array));
  return { name: model.name, parameters: model.countParams(), architecture: sha(arch), initialWeights: init.digest('hex') };
}

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function trainSettings(c: TrainConfig, evalAttack: PgdOptions | null): Identity {
  const lr = c.lrSchedule ?? { kind: 'constant' };
  return {
    epochs: c.epochs,
    batchSize: c.batchSize,
    seed: c.seed,
    optimizer: {
      lr: c.optimizer.lr,
      momentum: c.optimizer.momentum ?? 0.9,
      weightDecay: c.optimizer.weightDecay ?? 0,
      nesterov: c.optimizer.nesterov ?? false,
      decayBiasAndNorm: c.optimizer.decayBiasAndNorm ?? true,
    },
    lrSchedule:
      lr.kind === 'piecewise'
        ? { ...lr, factor: lr.factor ?? 0.1 }
        : lr.kind === 'linear' || lr.kind === 'cosine'
          ? { ...lr, final: lr.final ?? 0 }
          : lr,
    // trainN / validationN only when set: identities of runs from before they existed stay the same
    eval: c.eval
      ? {
          n: c.eval.n,
          batchSize: c.eval.batchSize ?? 256,
          attack: evalAttack,
          trainN: c.eval.trainN,
          validationN: c.eval.validationN,
          every: c.eval.every,
        }
      : null,
    // micro-batches as large as the batch are no micro-batching
    microBatchSize: c.microBatchSize !== undefined && c.microBatchSize < c.batchSize ? c.microBatchSize : null,
  };
}

/** Fills defaults that objects record only when given: attack options and the dynamic β schedule. */
function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (typeof v !== 'object' || v === null) return v;
  const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  if (typeof o.eps === 'number' && typeof o.alpha === 'number' && typeof o.steps === 'number')
    return { randomStart: true, norm: 'linf', loss: 'ce', clip: [0, 1], ...o };
  if (o.kind === 'dynamic') return { ...DYNAMIC_DEFAULTS, ...o };
  return o;
}

/** Plain JSON: functions by name (a custom attack loss), undefined fields dropped. */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'function' ? `function ${x.name || '(anonymous)'}` : x)) ?? 'null');
}

export function runIdentity(o: IdentityInput): Identity {
  const hooks: Identity = {};
  for (const h of o.hooks) hooks[h.name in hooks ? `${h.name}#${Object.keys(hooks).length + 1}` : h.name] = h.config ?? {};
  return normalise(
    plain({
      ...(o.extra ?? {}),
      train: trainSettings(o.config, o.evalAttack),
      objective: { name: o.objective.name, ...o.objective.config },
      hooks,
      data: {
        train: datasetIdentity(o.train),
        test: o.test ? datasetIdentity(o.test) : null,
        ...(o.validation ? { validation: datasetIdentity(o.validation) } : {}),
      },
      network: networkIdentity(o.model),
      backend: o.backend,
    }),
  ) as Identity;
}

/** Dotted path → JSON text of every leaf (arrays are leaves). */
function flatten(v: unknown, prefix: string, out: Map<string, string>): Map<string, string> {
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out.set(prefix, JSON.stringify(v ?? null));
  return out;
}

export interface IdentityDiff {
  field: string;
  was?: string;
  now?: string;
}

export function identityDiff(was: Identity, now: Identity): IdentityDiff[] {
  const a = flatten(was, '', new Map());
  const b = flatten(now, '', new Map());
  const keys = [...new Set([...a.keys(), ...b.keys()])];
  return keys.filter((k) => a.get(k) !== b.get(k)).map((field) => ({ field, was: a.get(field), now: b.get(field) }));
}

function showValue(v: string | undefined): string {
  if (v === undefined) return '(absent)';
  const t = v.replace(/"([0-9a-f]{12})[0-9a-f]{52}"/g, '$1…');
  return t.length > 60 ? `${t.slice(0, 57)}…` : t;
}

/** The refusal naming every differing field (at most 12 lines). */
export function identityMismatch(runDir: string, diffs: IdentityDiff[]): PiatError {
  const lines = diffs.slice(0, 12).map((d) => `  ${d.field}: ${showValue(d.was)} in the folder, ${showValue(d.now)} now`);
  if (diffs.length > 12) lines.push(`  … and ${diffs.length - 12} more`);
  const backendOnly = diffs.every((d) => d.field === 'backend');
  // the folder's backend, and on torch its path ('torch (fused)': PIAT_FUSED_MODEL=1; computeIdentity in src/backend)
  const [, name, path] = /^([^ ]+)(?: \((.*)\))?$/.exec(backendOnly ? (JSON.parse(diffs[0].was ?? '""') as string) : '') ?? [];
  const fused = path
    ? `PIAT_FUSED_MODEL=1 ${path.includes('host') ? 'PIAT_DEVICE_RANDOM=0' : 'with PIAT_DEVICE_RANDOM unset'}`
    : 'PIAT_FUSED_MODEL unset';
  const settings = `PIAT_BACKEND=${name} (or --backend)${name === 'torch' ? ` and ${fused}` : ''}`;
  return new PiatError(
    'config-mismatch',
    `${runDir} holds a run with a different configuration:\n${lines.join('\n')}\n` +
      (backendOnly
        ? `Results differ between backends and between the torch backend's paths, so an unfinished run continues only on its own: set ${settings}, or choose another run directory.`
        : `Resume it with its own configuration (its config.json), choose another run directory, or delete this one to start over.`),
  );
}
