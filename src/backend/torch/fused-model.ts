/**
 * A model as one kernel on the torch backend (opt-in: `PIAT_FUSED_MODEL=1`). `logits(model, x,
 * training)` (src/models/forward.ts) runs the whole network as one native call
 * (native/torch/model.cc) that builds it in ATen with libtorch's autograd recording, instead of
 * one tfjs kernel per layer; its tfjs gradient is one native backward call. To tfjs it is one op,
 * `PiatFusedModel`, whose inputs are the model's weights and the input batch, so attacks
 * (`tf.grad` of a loss of the logits), objectives (`tf.variableGrads`) and PIAT see an ordinary op.
 *
 * The network is read once per model from its layer graph into a compact op list (cached): Conv2D
 * ('same'/'valid', any stride, bias or not, linear/relu/tanh/sigmoid), ZeroPadding2D,
 * BatchNormalization (last axis), Activation, Add, MaxPooling2D, GlobalAveragePooling2D, Flatten,
 * Dense (2-D input, or tokens [n, t, d]), channels-last throughout; and the vision transformers'
 * layers (src/models/vit.ts): Reshape, LayerNormalization (last axis), the class token, the position
 * embedding, GELU, multi-head self-attention (GPSA included), the gradient gate (A&P's dropping,
 * drawn per call in layer order as the per-layer gates draw) and the first token. A model with any other layer, several inputs or
 * outputs, or an input of another shape than its own runs on the per-layer path, which stays the
 * reference. In training mode batch norm uses batch statistics and its running statistics are
 * updated as tfjs-layers does it (orig − (orig − batch)·(1 − momentum), biased batch variance).
 *
 * Which gradients one backward call computes: tfjs asks for the gradient of each input of an op
 * separately, and lazily. The input batch comes last among the op's inputs; asking for it alone
 * (an attack step) computes only the input gradient. The first weight asked for computes, in one
 * call, the gradients of it and of every trainable weight after it (weights are in layer order, so
 * `tf.variableGrads` of all weights is one call, and of the head's weights only a short backward);
 * any gradient of that call not asked for is freed once the backward pass has run. The input
 * gradient asked for together with weights takes a second call on the same recorded graph.
 */
import * as tf from '@tensorflow/tfjs';
import { setFusedForward } from '../../models/forward';
import { gradientDropping } from '../../models/vit';
import { PiatError } from '../../util/errors';
import type { TorchNative } from './native';

/** What the fused model needs of the torch backend (backend.ts's TorchBackend). */
export interface FusedModelBackend {
  readonly native: TorchNative;
  readonly calls: Map<string, number>;
  profile: boolean;
  nativeMs: number;
  handle(dataId: object): number;
  /** Tensors the addon returned (encoded as its `run` returns them) as this backend's tensor infos. */
  adopt(flat: number[]): tf.TensorInfo[];
}

export const FUSED_MODEL_KERNEL = 'PiatFusedModel';

// op codes: native/torch/model.cc (keep the two in step)
const OP = {
  END: 0,
  CONV: 1,
  PAD: 2,
  BN: 3,
  ACT: 4,
  ADD: 5,
  MAXPOOL: 6,
  GAP: 7,
  FLATTEN: 8,
  DENSE: 9,
  RESHAPE: 10,
  CLS_TOKEN: 11,
  POS_EMBED: 12,
  LAYER_NORM: 13,
  GELU: 14,
  ATTENTION: 15,
  GRAD_GATE: 16,
  FIRST_TOKEN: 17,
} as const;
const ACT: Record<string, number> = { linear: 0, relu: 1, tanh: 2, sigmoid: 3 };

interface LayerVar {
  read(): tf.Tensor;
  write(v: tf.Tensor): unknown;
}
interface SymbolicLike {
  id: number;
  shape: (number | null)[];
}
interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  inboundNodes: { inputTensors: SymbolicLike[]; outputTensors: SymbolicLike[] }[];
  [k: string]: unknown;
}

/** A model read into the native op list: `weights[i]` is handle i + 1 of a call (handle 0: the input). */
export interface Plan {
  ops: Int32Array;
  nums: Float64Array;
  weights: LayerVar[];
  /** each batch norm's running mean and variance, in op order */
  stats: [LayerVar, LayerVar][];
  /** the input's shape without the batch axis */
  inputShape: number[];
  /** positions in `ops` of each gradient gate's drop flag, in layer order (set per call while gradient dropping is on) */
  gates: number[];
}

class Unsupported extends Error {}

const plans = new WeakMap<tf.LayersModel, Plan | null>();

function pair(v: unknown, what: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number')) return [v[0], v[1]];
  throw new Unsupported(`${what} ${JSON.stringify(v)}`);
}

function actCode(a: unknown): number {
  const name = a === undefined || a === null ? 'linear' : typeof a === 'string' ? a : JSON.stringify(a);
  if (!(name in ACT)) throw new Unsupported(`activation ${name}`);
  return ACT[name];
}

function channelsLast(c: Record<string, unknown>): void {
  if (c.dataFormat !== undefined && c.dataFormat !== null && c.dataFormat !== 'channelsLast')
    throw new Unsupported(`dataFormat ${JSON.stringify(c.dataFormat)}`);
}

/** The op list of `model`, or the reason it cannot run fused. */
function buildPlan(model: tf.LayersModel): Plan {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new Unsupported('several inputs or outputs');
  const ops: number[] = [];
  const nums: number[] = [];
  const weights: LayerVar[] = [];
  const stats: [LayerVar, LayerVar][] = [];
  const gates: number[] = [];
  const slotOf = new Map<number, number>([[model.inputs[0].id, 0]]);
  let nextSlot = 1;
  const weight = (v: unknown): number => {
    if (v === null || v === undefined) return -1;
    const lv = v as LayerVar;
    let i = weights.indexOf(lv);
    if (i < 0) i = weights.push(lv) - 1;
    return i + 1;
  };
  const slot = (t: SymbolicLike): number => {
    const s = slotOf.get(t.id);
    if (s === undefined) throw new Unsupported('a layer input that no earlier layer made');
    return s;
  };
  for (const layerAny of model.layers) {
    const layer = layerAny as unknown as LayerLike;
    const kind = layer.getClassName();
    if (kind === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1) throw new Unsupported(`layer ${layer.name} is used ${layer.inboundNodes.length} times`);
    const node = layer.inboundNodes[0];
    if (node.outputTensors.length !== 1) throw new Unsupported(`layer ${layer.name} has several outputs`);
    const ins = node.inputTensors.map(slot);
    const inShape = node.inputTensors[0].shape;
    const c = layer.getConfig();
    const out = nextSlot++;
    slotOf.set(node.outputTensors[0].id, out);
    const one = () => {
      if (ins.length !== 1) throw new Unsupported(`layer ${layer.name} has ${ins.length} inputs`);
      return ins[0];
    };
    switch (kind) {
      case 'Conv2D': {
        channelsLast(c);
        if (inShape.length !== 4 || inShape.slice(1).some((d) => d === null))
          throw new Unsupported('a convolution of an input of unknown shape');
        const kernel = layer.kernel as LayerVar;
        const k = kernel.read().shape;
        const info = tf.backend_util.computeConv2DInfo(
          [1, inShape[1], inShape[2], inShape[3]] as [number, number, number, number],
          k as [number, number, number, number],
          pair(c.strides, 'strides'),
          pair(c.dilationRate ?? 1, 'dilationRate'),
          c.padding as 'same' | 'valid',
        );
        if ((c.groups ?? 1) !== 1) throw new Unsupported('grouped convolution');
        const p = info.padInfo;
        ops.push(OP.CONV, out, one(), weight(kernel), c.useBias ? weight(layer.bias) : -1);
        ops.push(info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth, p.top, p.bottom, p.left, p.right);
        ops.push(actCode(c.activation));
        break;
      }
      case 'ZeroPadding2D': {
        channelsLast(c);
        const pd = c.padding as number[][];
        ops.push(OP.PAD, out, one(), pd[0][0], pd[0][1], pd[1][0], pd[1][1]);
        break;
      }
      case 'BatchNormalization': {
        const axis = c.axis as number;
        const rank = inShape.length;
        if (!(rank === 2 || rank === 4) || !(axis === -1 || axis === rank - 1))
          throw new Unsupported(`batch norm over axis ${axis} of rank ${rank}`);
        const k = nums.length;
        nums.push(c.epsilon as number, 1 - (c.momentum as number));
        const mean = layer.movingMean as LayerVar;
        const variance = layer.movingVariance as LayerVar;
        ops.push(
          OP.BN,
          out,
          one(),
          c.scale ? weight(layer.gamma) : -1,
          c.center ? weight(layer.beta) : -1,
          weight(mean),
          weight(variance),
          k,
        );
        stats.push([mean, variance]);
        break;
      }
      case 'Activation':
        ops.push(OP.ACT, out, one(), actCode(c.activation));
        break;
      case 'Add':
        ops.push(OP.ADD, out, ins.length, ...ins);
        break;
      case 'MaxPooling2D': {
        channelsLast(c);
        if (inShape.length !== 4 || inShape.slice(1).some((d) => d === null)) throw new Unsupported('pooling of an input of unknown shape');
        const info = tf.backend_util.computePool2DInfo(
          [1, inShape[1], inShape[2], inShape[3]] as [number, number, number, number],
          pair(c.poolSize, 'poolSize'),
          pair(c.strides ?? c.poolSize, 'strides'),
          1,
          c.padding as 'same' | 'valid',
        );
        const p = info.padInfo;
        ops.push(
          OP.MAXPOOL,
          out,
          one(),
          info.filterHeight,
          info.filterWidth,
          info.strideHeight,
          info.strideWidth,
          p.top,
          p.bottom,
          p.left,
          p.right,
        );
        break;
      }
      case 'GlobalAveragePooling2D':
        channelsLast(c);
        if (c.keepDims) throw new Unsupported('global pooling with keepDims');
        ops.push(OP.GAP, out, one());
        break;
      case 'Flatten':
        channelsLast(c);
        if (!(inShape.length === 2 || inShape.length === 4)) throw new Unsupported(`flatten of rank ${inShape.length}`);
        ops.push(OP.FLATTEN, out, one());
        break;
      case 'Dense':
        if (inShape.length !== 2 && inShape.length !== 3) throw new Unsupported(`a dense layer on an input of rank ${inShape.length}`);
        ops.push(OP.DENSE, out, one(), weight(layer.kernel), c.useBias ? weight(layer.bias) : -1, actCode(c.activation));
        break;
      // the vision transformers' layers (src/models/vit.ts)
      case 'Reshape': {
        const target = c.targetShape as number[];
        ops.push(OP.RESHAPE, out, one(), target.length, ...target);
        break;
      }
      case 'LayerNormalization': {
        // on tokens or vectors only: a rank-4 slot is held as NCHW, where the last axis is not the channels
        if (inShape.length !== 2 && inShape.length !== 3) throw new Unsupported(`layer norm of an input of rank ${inShape.length}`);
        const axis = c.axis as number | number[];
        const last = [-1, inShape.length - 1];
        if (!(typeof axis === 'number' ? last.includes(axis) : axis.length === 1 && last.includes(axis[0])))
          throw new Unsupported(`layer norm over axis ${JSON.stringify(axis)}`);
        nums.push(c.epsilon as number);
        ops.push(OP.LAYER_NORM, out, one(), c.scale ? weight(layer.gamma) : -1, c.center ? weight(layer.beta) : -1, nums.length - 1);
        break;
      }
      case 'PiatClassToken':
      case 'PiatPositionEmbedding':
      case 'PiatMultiHeadSelfAttention':
      case 'PiatTakeFirstToken':
        if (inShape.length !== 3) throw new Unsupported(`${kind} of an input of rank ${inShape.length} (tokens are [n, t, d])`);
        if (kind === 'PiatClassToken') ops.push(OP.CLS_TOKEN, out, one(), weight(layer.cls));
        else if (kind === 'PiatPositionEmbedding') ops.push(OP.POS_EMBED, out, one(), weight(layer.pos));
        else if (kind === 'PiatTakeFirstToken') ops.push(OP.FIRST_TOKEN, out, one());
        else {
          // GPSA's relative positions are a constant tensor of the layer, passed like a weight that is never trainable
          const rel = c.gated ? weight({ read: () => layer.rel as tf.Tensor, write: () => undefined }) : -1;
          ops.push(OP.ATTENTION, out, one(), weight(layer.qkv), weight(layer.qkvBias), weight(layer.proj), weight(layer.projBias));
          ops.push(c.heads as number, c.gated ? weight(layer.posProj) : -1, c.gated ? weight(layer.gate) : -1, rel);
        }
        break;
      case 'PiatGelu':
        ops.push(OP.GELU, out, one());
        break;
      case 'GradientGate':
        ops.push(OP.GRAD_GATE, out, one(), 0);
        gates.push(ops.length - 1);
        break;

      default:
        throw new Unsupported(`layer ${kind}`);
    }
  }
  ops.push(OP.END, slot(model.outputs[0] as unknown as SymbolicLike));
  const inputShape = (model.inputs[0].shape as (number | null)[]).slice(1);
  if (inputShape.some((d) => d === null)) throw new Unsupported('an input of unknown shape');
  return { ops: Int32Array.from(ops), nums: Float64Array.from(nums), weights, stats, inputShape: inputShape as number[], gates };
}

/** Why a model runs on the per-layer path even with PIAT_FUSED_MODEL=1 (null: it runs fused). */
export function fusedModelUnsupported(model: tf.LayersModel): string | null {
  try {
    buildPlan(model);
    return null;
  } catch (e) {
    if (e instanceof Unsupported) return e.message;
    throw e;
  }
}

function planOf(model: tf.LayersModel): Plan | null {
  let p = plans.get(model);
  if (p === undefined) {
    try {
      p = buildPlan(model);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      p = null;
    }
    plans.set(model, p);
  }
  return p;
}

interface FusedAttrs {
  plan: Plan;
  /** the plan's op list with this call's gradient-gate draws */
  ops: Int32Array;
  training: boolean;
  /** weights trainable at the forward pass (their gradients can be asked for) */
  trainable: boolean[];
  /** whether a gradient tape records this call (read before the kernel runs: tfjs turns the tape off inside kernels) */
  record: boolean;
  /** filled by the kernel in training mode: the new running statistics */
  stats: tf.TensorInfo[];
}

let backendRef: FusedModelBackend | null = null;

/** Runs one native call of the fused path, counted (and timed when profiling) under `name`. */
export function countCall(b: FusedModelBackend, name: string, f: () => number[]): number[] {
  b.calls.set(name, (b.calls.get(name) ?? 0) + 1);
  if (!b.profile) return f();
  const t0 = performance.now();
  try {
    return f();
  } finally {
    b.nativeMs += performance.now() - t0;
  }
}

function isTapeOn(): boolean {
  return (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
}

function kernelFunc({ inputs, attrs, backend }: { inputs: tf.NamedTensorMap; attrs?: unknown; backend: unknown }): tf.TensorInfo {
  const b = backend as FusedModelBackend;
  const a = attrs as unknown as FusedAttrs;
  const n = a.plan.weights.length;
  const handles = new Uint32Array(n + 1);
  const grad = new Uint8Array(n + 1);
  handles[0] = b.handle(inputs.x.dataId);
  grad[0] = 1;
  for (let i = 0; i < n; i++) {
    handles[i + 1] = b.handle(inputs[`w${i}`].dataId);
    grad[i + 1] = a.trainable[i] ? 1 : 0;
  }
  const flags = (a.training ? 1 : 0) | (a.record ? 2 : 0);
  const flat = countCall(b, 'modelForward', () => b.native.modelForward(a.ops, a.plan.nums, handles, grad, flags));
  const [logits, ...stats] = b.adopt(flat);
  a.stats = stats;
  return logits;
}

function gradFunc(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: unknown): Record<string, () => tf.Tensor> {
  const a = attrs as unknown as FusedAttrs;
  const b = backendRef;
  if (!b) throw new PiatError('internal', 'the fused model gradient ran without the torch backend');
  const g = dy as tf.Tensor;
  const logits = saved[0];
  const n = a.plan.weights.length;
  /** weight index -> its gradient from the first weight gradient's call, not yet given to tfjs */
  let pending: Map<number, number[]> | null = null;
  /** one backward call: each gradient's encoding as the addon returns outputs (handle, dtype, rank, dims) */
  const backward = (which: number[]): number[][] => {
    const flat = countCall(b, 'modelBackward', () =>
      b.native.modelBackward(b.handle(logits.dataId), b.handle(g.dataId), Uint32Array.from(which)),
    );
    const out: number[][] = [];
    for (let p = 1, k = 0; k < flat[0]; k++) {
      out.push(flat.slice(p, p + 3 + flat[p + 2]));
      p += 3 + flat[p + 2];
    }
    return out;
  };
  const wrap = (encoded: number[]): tf.Tensor => tf.engine().makeTensorFromTensorInfo(b.adopt([1, ...encoded])[0]);
  const notTrainable = (i: number) =>
    new PiatError(
      'fused-model',
      `a gradient was asked for weight ${i} of the fused model, which was not trainable when the forward pass ran`,
    );
  const grads: Record<string, () => tf.Tensor> = {};
  for (let i = 0; i < n; i++) {
    grads[`w${i}`] = () => {
      if (!a.trainable[i]) throw notTrainable(i);
      if (!pending) {
        const which: number[] = [];
        for (let j = i; j < n; j++) if (a.trainable[j]) which.push(j);
        const hs = backward(which.map((j) => j + 1));
        pending = new Map(which.map((j, k) => [j, hs[k]]));
        const left = pending;
        // whatever tfjs did not ask for by the end of this backward pass is freed
        queueMicrotask(() => left.forEach((e) => b.native.dispose(e[0])));
      }
      const e = pending.get(i);
      if (e === undefined) throw new PiatError('internal', `the fused model's gradient of weight ${i} was not computed`);
      pending.delete(i);
      return wrap(e);
    };
  }
  grads.x = () => wrap(backward([0])[0]);
  return grads;
}

let installed = false;

/** Registers the fused model's kernel and gradient and plugs it into `logits` (the torch backend calls this). */
export function installFusedModel(backend: FusedModelBackend): void {
  backendRef = backend;
  if (installed) return;
  installed = true;
  tf.registerKernel({ kernelName: FUSED_MODEL_KERNEL, backendName: 'torch', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  tf.registerGradient({ kernelName: FUSED_MODEL_KERNEL, outputsToSave: [true], gradFunc: gradFunc as unknown as tf.GradFunc });
  setFusedForward(fusedLogits);
}

/** Whether `PIAT_FUSED_MODEL=1` asks for the fused path. */
export function fusedModelEnabled(): boolean {
  return process.env.PIAT_FUSED_MODEL === '1';
}

/**
 * The op list for one forward pass: while A&P's gradient dropping is on, each gradient gate draws,
 * in layer order as the per-layer path's gates do, whether its branch passes its gradient back.
 */
export function gateDraws(plan: Plan): Int32Array {
  const { keep, draw } = gradientDropping();
  if (!plan.gates.length || keep === null || !draw) return plan.ops;
  const ops = plan.ops.slice();
  for (const at of plan.gates) ops[at] = draw() < keep ? 0 : 1;
  return ops;
}

/** The torch backend the fused kernels run on (installFusedModel sets it). */
export function fusedBackend(): FusedModelBackend | null {
  return backendRef;
}

/** The op list of `model` when the fused path applies to `x` (flag on, torch, float32, the model's input shape), or null. */
export function fusedPlanFor(model: tf.LayersModel, x: tf.Tensor): Plan | null {
  if (!fusedModelEnabled() || tf.getBackend() !== 'torch' || x.dtype !== 'float32') return null;
  const plan = planOf(model);
  if (!plan || x.rank !== plan.inputShape.length + 1 || plan.inputShape.some((d, i) => d !== x.shape[i + 1])) return null;
  return plan;
}

/**
 * The logits of `model` on `x` as one native call, or null where the per-layer path runs: the flag
 * is off, the backend is not torch, the model has a layer the op list lacks, or `x` has another
 * shape than the model's input.
 */
export function fusedLogits(model: tf.LayersModel, x: tf.Tensor, training: boolean): tf.Tensor2D | null {
  const plan = fusedPlanFor(model, x);
  if (!plan) return null;
  const inputs: Record<string, tf.Tensor> = {};
  const trainable: boolean[] = [];
  plan.weights.forEach((w, i) => {
    const v = w.read() as tf.Variable;
    inputs[`w${i}`] = v;
    trainable.push(v.trainable);
  });
  inputs.x = x;
  const attrs: FusedAttrs = { plan, ops: gateDraws(plan), training, trainable, record: isTapeOn(), stats: [] };
  const out = tf.engine().runKernel(FUSED_MODEL_KERNEL, inputs as tf.NamedTensorMap, attrs as never) as tf.Tensor2D;
  if (training) {
    const stats = attrs.stats.map((info) => tf.engine().makeTensorFromTensorInfo(info));
    plan.stats.forEach(([mean, variance], k) => {
      mean.write(stats[2 * k]);
      variance.write(stats[2 * k + 1]);
    });
    tf.dispose(stats);
  }
  return out;
}
