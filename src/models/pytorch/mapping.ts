/**
 * Each weight of a built model, paired with the PyTorch tensor(s) it comes from and the layout
 * change between them: convolutions OIHW ↔ HWIO, linear weights transposed (and, after a flatten,
 * rows reordered from PyTorch's C·H·W to our H·W·C), batch-norm running statistics by name, a
 * ViT's qkv (ConViT's qk + v) transposed, its position embedding and patch kernel resampled when
 * the checkpoint was trained at another grid (timm's rules, resample.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { FROZEN_PREFIX } from '../layers';
import { Dialect } from './dialects';
import { resamplePatchKernel, resamplePositionEmbedding } from './resample';
import { numel } from './tensor';

/** A PyTorch-side tensor: its key and shape, values row-major. */
export interface Named {
  key: string;
  shape: number[];
  values: Float32Array;
}

export interface WeightPlan {
  /** the model's weight (index into model.weights) */
  index: number;
  /** our name, "layer/param" */
  name: string;
  shape: number[];
  /** the PyTorch keys it reads; `optional` ones may be absent (then zeros) */
  keys: { key: string; optional?: boolean }[];
  /** true for the ViT patch and position embeddings, which are resampled when the checkpoint's grid differs */
  resamples?: boolean;
  /** our values from the PyTorch tensors (same order as keys; undefined where an optional one is absent); throws a message on a shape that does not fit */
  fromTorch(t: (Named | undefined)[]): Float32Array;
  /** the PyTorch tensors of our values */
  toTorch(v: Float32Array): Named[];
}

const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Permutes a row-major array of `shape` by `perm` (out dim i = in dim perm[i]). */
export function permute(v: Float32Array, shape: number[], perm: number[]): Float32Array {
  const outShape = perm.map((p) => shape[p]);
  const inStride = shape.map((_, d) => numel(shape.slice(d + 1)));
  const out = new Float32Array(v.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < v.length; o++) {
    let src = 0;
    for (let d = 0; d < perm.length; d++) src += idx[d] * inStride[perm[d]];
    out[o] = v[src];
    for (let d = outShape.length - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

class ShapeError extends Error {}
function expectShape(t: Named, want: number[], hint = ''): void {
  if (!same(t.shape, want)) throw new ShapeError(`${t.key} has shape [${t.shape}], the model needs [${want}]${hint}`);
}

/** One tensor with the same layout on both sides (biases, norms, tokens). */
function direct(index: number, name: string, shape: number[], key: string, optional = false): WeightPlan {
  return {
    index,
    name,
    shape,
    keys: [{ key, optional }],
    fromTorch: ([t]) => {
      if (!t) return new Float32Array(numel(shape));
      expectShape(t, shape);
      return t.values;
    },
    toTorch: (v) => [{ key, shape, values: v }],
  };
}

/** A tensor whose PyTorch layout is ours permuted by `perm` (PyTorch dim i = our dim perm[i]). */
function permuted(index: number, name: string, shape: number[], key: string, perm: number[]): WeightPlan {
  const torchShape = perm.map((p) => shape[p]);
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return {
    index,
    name,
    shape,
    keys: [{ key }],
    fromTorch: ([t]) => {
      expectShape(t!, torchShape);
      return permute(t!.values, torchShape, inverse);
    },
    toTorch: (v) => [{ key, shape: torchShape, values: permute(v, shape, perm) }],
  };
}

/** [in, out] dense kernel whose input is a flattened [h, w, c] map: PyTorch's rows are in c·h·w order. */
function flattenedDense(index: number, name: string, shape: number[], key: string, hwc: number[]): WeightPlan {
  const [h, w, c] = hwc;
  const out = shape[1];
  // our kernel as [h, w, c, out] ↔ PyTorch's weight [out, c, h, w]
  const ours = [h, w, c, out];
  return {
    index,
    name,
    shape,
    keys: [{ key }],
    fromTorch: ([t]) => {
      expectShape(t!, [out, c * h * w], ` (a linear layer after a flatten of [${c}, ${h}, ${w}])`);
      return permute(t!.values, [out, c, h, w], [2, 3, 1, 0]);
    },
    toTorch: (v) => [{ key, shape: [out, c * h * w], values: permute(v, ours, [3, 2, 0, 1]) }],
  };
}

function convKernel(index: number, name: string, shape: number[], key: string, resample: boolean): WeightPlan {
  const plan = permuted(index, name, shape, key, [3, 2, 0, 1]);
  if (!resample) return plan;
  const [k, , inC, outC] = shape;
  return {
    ...plan,
    resamples: true,
    fromTorch: ([t]) => {
      const [o, i, kh, kw] = t!.shape;
      if (t!.shape.length === 4 && o === outC && i === inC && kh === kw && kh > k) {
        // a 16-pixel patch checkpoint on our smaller patches: FlexiViT's resize, as timm
        const r = resamplePatchKernel(t!.values, outC, inC, kh, k);
        return permute(r, [outC, inC, k, k], [2, 3, 1, 0]);
      }
      return plan.fromTorch([t]);
    },
  };
}

function positionEmbedding(index: number, name: string, shape: number[], key: string, grid: number): WeightPlan {
  const [, tokens, d] = shape;
  const prefix = tokens - grid * grid;
  return {
    ...direct(index, name, shape, key),
    resamples: true,
    fromTorch: ([t]) => {
      if (same(t!.shape, shape)) return t!.values;
      const src = t!.shape[1] - prefix;
      const side = Math.round(Math.sqrt(src));
      if (t!.shape.length !== 3 || t!.shape[2] !== d || side * side !== src)
        throw new ShapeError(
          `${t!.key} has shape [${t!.shape}]: not ${prefix} prefix token(s) plus a square grid of width ${d} (the model needs [${shape}])`,
        );
      return resamplePositionEmbedding(t!.values, d, prefix, side, side, grid, grid);
    },
  };
}

/** Our qkv kernel [d, 3d] from ConViT's GPSA qk [2d, d] and v [d, d] weights (and back). */
function gpsaQkv(index: number, name: string, shape: number[], p: string): WeightPlan {
  const d = shape[0];
  return {
    index,
    name,
    shape,
    keys: [{ key: `${p}.qk.weight` }, { key: `${p}.v.weight` }],
    fromTorch: ([qk, v]) => {
      expectShape(qk!, [2 * d, d]);
      expectShape(v!, [d, d]);
      const rows = new Float32Array(3 * d * d);
      rows.set(qk!.values);
      rows.set(v!.values, 2 * d * d);
      return permute(rows, [3 * d, d], [1, 0]);
    },
    toTorch: (val) => {
      const rows = permute(val, [d, 3 * d], [1, 0]);
      return [
        { key: `${p}.qk.weight`, shape: [2 * d, d], values: rows.slice(0, 2 * d * d) },
        { key: `${p}.v.weight`, shape: [d, d], values: rows.slice(2 * d * d) },
      ];
    },
  };
}

function gpsaQkvBias(index: number, name: string, shape: number[], p: string, optional: boolean): WeightPlan {
  const d = shape[0] / 3;
  return {
    index,
    name,
    shape,
    keys: [
      { key: `${p}.qk.bias`, optional },
      { key: `${p}.v.bias`, optional },
    ],
    fromTorch: ([qk, v]) => {
      const out = new Float32Array(3 * d);
      if (qk) {
        expectShape(qk, [2 * d]);
        out.set(qk.values);
      }
      if (v) {
        expectShape(v, [d]);
        out.set(v.values, 2 * d);
      }
      return out;
    },
    toTorch: (val) => [
      { key: `${p}.qk.bias`, shape: [2 * d], values: val.slice(0, 2 * d) },
      { key: `${p}.v.bias`, shape: [d], values: val.slice(2 * d) },
    ],
  };
}

const BN: Record<string, string> = { gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_variance: 'running_var' };

/** The side of the patch grid of a ViT (its patch_embed's output), or 0 for other models. */
function patchGrid(model: tf.LayersModel): number {
  const layer = model.layers.find((l) => l.name === 'patch_embed');
  return layer ? ((layer.outputShape as number[])[1] ?? 0) : 0;
}

/** The [h, w, c] a Dense layer's input was flattened from, if its input is a Flatten of an image. */
function flattenedFrom(layer: tf.layers.Layer): number[] | null {
  const inbound = (layer as unknown as { inboundNodes: { inboundLayers: tf.layers.Layer[] }[] }).inboundNodes[0]?.inboundLayers[0];
  if (!inbound || inbound.getClassName() !== 'Flatten') return null;
  const s = (inbound.input as tf.SymbolicTensor).shape as number[];
  return s.length === 4 ? s.slice(1) : null;
}

/**
 * The plan of every weight of `model` in `dialect`: the frozen input normalisation has no PyTorch
 * counterpart (PyTorch code normalises outside the model) and is left out.
 */
export function weightPlans(model: tf.LayersModel, dialect: Dialect): WeightPlan[] {
  const grid = patchGrid(model);
  const plans: WeightPlan[] = [];
  const layerOf = new Map<string, tf.layers.Layer>();
  for (const l of model.layers) for (const w of l.weights) layerOf.set(w.originalName, l);
  model.weights.forEach((w, index) => {
    const layer = layerOf.get(w.originalName);
    const [layerName, param] = [
      w.originalName.slice(0, w.originalName.lastIndexOf('/')),
      w.originalName.slice(w.originalName.lastIndexOf('/') + 1),
    ];
    if (!layer || layerName.startsWith(FROZEN_PREFIX)) return;
    const shape = w.shape as number[];
    const p = dialect.layer(layerName);
    const name = w.originalName;
    const cls = layer.getClassName();
    const unknown = () => new Error(`no PyTorch mapping for weight ${name} of a ${cls} layer`);
    switch (cls) {
      case 'Conv2D':
        if (param === 'kernel') plans.push(convKernel(index, name, shape, `${p}.weight`, !!dialect.timm && layerName === 'patch_embed'));
        else plans.push(direct(index, name, shape, `${p}.bias`));
        return;
      case 'Dense': {
        const hwc = param === 'kernel' ? flattenedFrom(layer) : null;
        if (param === 'bias') plans.push(direct(index, name, shape, `${p}.bias`));
        else if (hwc) plans.push(flattenedDense(index, name, shape, `${p}.weight`, hwc));
        else plans.push(permuted(index, name, shape, `${p}.weight`, [1, 0]));
        return;
      }
      case 'BatchNormalization':
      case 'LayerNormalization':
        if (!BN[param]) throw unknown();
        plans.push(direct(index, name, shape, `${p}.${BN[param]}`));
        return;
      case 'PiatClassToken':
        plans.push(direct(index, name, shape, p));
        return;
      case 'PiatPositionEmbedding':
        plans.push(positionEmbedding(index, name, shape, p, grid));
        return;
      case 'PiatMultiHeadSelfAttention': {
        const gated = layer.getConfig().gated === true;
        const noBias = dialect.timm ? !dialect.timm.qkvBias : false;
        const withoutBias = (plan: WeightPlan): WeightPlan =>
          noBias
            ? {
                ...plan,
                toTorch: (v) => {
                  if (v.some((x) => x !== 0))
                    throw new Error(`${name} is not zero, but ${dialect.source} has no qkv bias: write the 'piat' dialect instead`);
                  return [];
                },
              }
            : plan;
        if (param === 'qkv_kernel')
          plans.push(gated ? gpsaQkv(index, name, shape, p) : permuted(index, name, shape, `${p}.qkv.weight`, [1, 0]));
        else if (param === 'qkv_bias')
          plans.push(withoutBias(gated ? gpsaQkvBias(index, name, shape, p, noBias) : direct(index, name, shape, `${p}.qkv.bias`, noBias)));
        else if (param === 'proj_kernel') plans.push(permuted(index, name, shape, `${p}.proj.weight`, [1, 0]));
        else if (param === 'proj_bias') plans.push(direct(index, name, shape, `${p}.proj.bias`));
        else if (param === 'pos_proj') {
          // PyTorch's Linear has a bias here, which our softmax does not need: written as zeros
          const plan = direct(index, name, shape, `${p}.pos_proj.weight`);
          plans.push({
            ...plan,
            toTorch: (v) => [...plan.toTorch(v), { key: `${p}.pos_proj.bias`, shape: [shape[0]], values: new Float32Array(shape[0]) }],
          });
        } else if (param === 'gating') plans.push(direct(index, name, shape, `${p}.gating_param`));
        else throw unknown();
        return;
      }
      default:
        throw unknown();
    }
  });
  return plans;
}

/** Keys every checkpoint of a model with these layers may hold without our using them. */
export function alwaysIgnored(key: string): boolean {
  // batch-norm step counters; GPSA's pos_proj bias shifts every positional score of a head equally, which its softmax removes
  return /(^|\.)num_batches_tracked$/.test(key) || /\.attn\.pos_proj\.bias$/.test(key);
}

export { ShapeError };
