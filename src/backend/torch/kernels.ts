/**
 * The torch backend's kernels, one entry per tfjs kernel name: which inputs go to native code in
 * which order, and how tfjs's attrs are resolved first where tfjs resolves them in JavaScript
 * (padding modes to explicit pads, strided-slice masks, split sizes). The computation itself is in
 * native/torch/*.cc under the same name. Kernels tfjs has but this table lacks run on the logged
 * cpu fallback (fallback.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { PiatError } from '../../util/errors';
import { TorchBackend } from './backend';
import { runOnCpu } from './fallback';

type Info = tf.TensorInfo;
type Attrs = Record<string, unknown>;
type Inputs = Record<string, Info | undefined>;

interface Spec {
  /** Input names in native order; 'all' passes tfjs's input array (Concat, Pack, AddN, Einsum). */
  inputs?: string[] | 'all';
  /** Attrs for native code; throw Unsupported to use the cpu fallback for this call. */
  attrs?: (inputs: Inputs, attrs: Attrs) => Attrs;
  /** The kernel returns a list of tensors (Unpack, SplitV, TopK). */
  multi?: boolean;
  /**
   * The output is the input itself (Identity; Cast to the input's own dtype): the input's data id
   * gets one more reference and no native call is made, as tfjs's cpu backend does. tfjs saves
   * tensors for gradients and clones through Identity, so this is the commonest kernel of a step.
   */
  shares?: (inputs: Inputs, attrs: Attrs) => boolean;
}

class Unsupported extends Error {}

const UNARY = ['x'];
const BINARY = ['a', 'b'];
const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0], v[1]] : [v as number, v as number]);

function convAttrs(xShape: number[], filterShape: number[], a: Attrs, depthwise = false): Attrs {
  if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC' && a.dataFormat !== 'channelsLast')
    throw new Unsupported(`dataFormat ${JSON.stringify(a.dataFormat)}`);
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    pair(a.strides),
    pair(a.dilations ?? 1),
    a.pad as 'valid',
    a.dimRoundingMode as 'floor' | undefined,
    depthwise,
  );
  const p = info.padInfo;
  return {
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    pads: [p.top, p.bottom, p.left, p.right],
    inputShape: a.inputShape,
    filterShape: a.filterShape,
    activation: a.activation,
    leakyreluAlpha: a.leakyreluAlpha,
  };
}

function poolAttrs(xShape: number[], a: Attrs): Attrs {
  const info = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    pair(a.filterSize),
    pair(a.strides),
    1,
    a.pad as 'valid',
    a.dimRoundingMode as 'floor' | undefined,
  );
  const p = info.padInfo;
  return {
    filterSize: [info.filterHeight, info.filterWidth],
    strides: [info.strideHeight, info.strideWidth],
    pads: [p.top, p.bottom, p.left, p.right],
  };
}

const SPECS: Record<string, Spec> = {
  Conv2D: { inputs: ['x', 'filter'], attrs: (i, a) => convAttrs(i.x!.shape, i.filter!.shape, a) },
  FusedConv2D: {
    inputs: ['x', 'filter', 'bias', 'preluActivationWeights'],
    attrs: (i, a) => ({ ...convAttrs(i.x!.shape, i.filter!.shape, a), hasBias: !!i.bias }),
  },
  Conv2DBackpropInput: { inputs: ['dy', 'filter'], attrs: (i, a) => convAttrs(a.inputShape as number[], i.filter!.shape, a) },
  Conv2DBackpropFilter: { inputs: ['x', 'dy'], attrs: (i, a) => convAttrs(i.x!.shape, a.filterShape as number[], a) },
  DepthwiseConv2dNative: { inputs: ['x', 'filter'], attrs: (i, a) => convAttrs(i.x!.shape, i.filter!.shape, a, true) },
  FusedDepthwiseConv2D: {
    inputs: ['x', 'filter', 'bias', 'preluActivationWeights'],
    attrs: (i, a) => ({ ...convAttrs(i.x!.shape, i.filter!.shape, a, true), hasBias: !!i.bias }),
  },
  DepthwiseConv2dNativeBackpropInput: {
    inputs: ['dy', 'filter'],
    attrs: (i, a) => convAttrs(a.inputShape as number[], i.filter!.shape, a, true),
  },
  DepthwiseConv2dNativeBackpropFilter: { inputs: ['x', 'dy'], attrs: (i, a) => convAttrs(i.x!.shape, a.filterShape as number[], a, true) },
  BatchMatMul: { inputs: BINARY },
  _FusedMatMul: { inputs: ['a', 'b', 'bias', 'preluActivationWeights'], attrs: (i, a) => ({ ...a, hasBias: !!i.bias }) },
  FusedBatchNorm: {
    inputs: ['x', 'mean', 'variance', 'offset', 'scale'],
    attrs: (i, a) => ({ ...a, hasOffset: !!i.offset, hasScale: !!i.scale }),
  },
  MaxPool: { inputs: UNARY, attrs: (i, a) => poolAttrs(i.x!.shape, a) },
  AvgPool: { inputs: UNARY, attrs: (i, a) => poolAttrs(i.x!.shape, a) },
  MaxPoolGrad: { inputs: ['dy', 'input', 'output'], attrs: (i, a) => poolAttrs(i.input!.shape, a) },
  AvgPoolGrad: { inputs: ['dy', 'input'], attrs: (i, a) => poolAttrs(i.input!.shape, a) },

  Slice: {
    inputs: UNARY,
    attrs: (i, a) => {
      const [begin, size] = tf.slice_util.parseSliceParams(i.x as unknown as tf.Tensor, a.begin as number[], a.size as number[]);
      return { begin, size };
    },
  },
  StridedSlice: {
    inputs: UNARY,
    attrs: (i, a) => {
      const x = i.x!;
      const s = tf.slice_util.sliceInfo(
        x.shape,
        a.begin as number[],
        a.end as number[],
        a.strides as number[],
        a.beginMask as number,
        a.endMask as number,
        a.ellipsisMask as number,
        a.newAxisMask as number,
        a.shrinkAxisMask as number,
      );
      if (s.begin.length !== x.shape.length) throw new Unsupported('strided slice with new axes');
      // elements per dimension before shrunk axes are dropped (finalShapeSparse omits them)
      const sizes = s.begin.map((b, d) => Math.max(0, Math.ceil((s.end[d] - b) / s.strides[d])));
      return { begin: s.begin, strides: s.strides, sizes, finalShape: s.finalShape, identity: s.isIdentity };
    },
  },
  SplitV: {
    inputs: UNARY,
    multi: true,
    attrs: (i, a) => ({
      axis: a.axis,
      sizes: tf.backend_util.prepareSplitSize(i.x as unknown as tf.Tensor, a.numOrSizeSplits as number[], a.axis as number),
    }),
  },
  Unpack: { inputs: ['value'], multi: true },
  TopK: { inputs: UNARY, multi: true },
  Concat: { inputs: 'all' },
  Pack: { inputs: 'all' },
  AddN: { inputs: 'all' },
  Einsum: { inputs: 'all' },
  Select: { inputs: ['condition', 't', 'e'] },
  GatherV2: { inputs: ['x', 'indices'] },
  GatherNd: { inputs: ['params', 'indices'] },
  UnsortedSegmentSum: { inputs: ['x', 'segmentIds'] },
  OneHot: { inputs: ['indices'] },
  Fill: { inputs: [] },
  Range: { inputs: [] },
  Softmax: { inputs: ['logits'] },
  Prelu: { inputs: ['x', 'alpha'] },
  EluGrad: { inputs: ['dy', 'y'] },
  ExpandDims: { inputs: ['input'] },
  // piat-ts's own kernels (fused-ops.ts), registered for torch only
  PiatReluGrad: { inputs: ['dy', 'x'] },
  PiatMoments: { inputs: UNARY },
  PiatBatchNormTrain: { inputs: ['x', 'mean', 'variance', 'scale', 'offset'] },
  PiatBatchNormTrainGrad: { inputs: ['dy', 'x', 'mean', 'variance', 'scale'], multi: true },
  PiatBatchNormGradX: { inputs: ['dy', 'variance', 'scale'] },
  PiatReduceGrad: { inputs: ['dy', 'x'] },
  PiatCrossEntropy: { inputs: ['logits', 'labels'] },
  PiatCrossEntropyGrad: { inputs: ['dy', 'logits', 'labels'] },
  PiatRandom: { inputs: [] },
  PiatLinfStep: { inputs: ['xAdv', 'g', 'x'] },
};

const BINARY_KERNELS = [
  'Add',
  'Sub',
  'Multiply',
  'RealDiv',
  'FloorDiv',
  'Maximum',
  'Minimum',
  'Pow',
  'SquaredDifference',
  'Mod',
  'Atan2',
  'Equal',
  'NotEqual',
  'Less',
  'LessEqual',
  'Greater',
  'GreaterEqual',
  'LogicalAnd',
  'LogicalOr',
];
const UNARY_KERNELS = [
  'Exp',
  'Expm1',
  'Log',
  'Log1p',
  'Sqrt',
  'Rsqrt',
  'Reciprocal',
  'Sin',
  'Cos',
  'Tan',
  'Asin',
  'Acos',
  'Atan',
  'Sinh',
  'Cosh',
  'Asinh',
  'Acosh',
  'Atanh',
  'Tanh',
  'Sigmoid',
  'Erf',
  'Floor',
  'Ceil',
  'Round',
  'Selu',
  'Elu',
  'Softplus',
  'Neg',
  'Abs',
  'Sign',
  'Square',
  'Relu',
  'Relu6',
  'LeakyRelu',
  'Step',
  'ClipByValue',
  'Cast',
  'Identity',
  'ZerosLike',
  'OnesLike',
  'LogicalNot',
  'IsNan',
  'IsInf',
  'IsFinite',
  'Reshape',
  'Transpose',
  'PadV2',
  'Tile',
  'Reverse',
  'Cumsum',
  'Cumprod',
  'Sum',
  'Mean',
  'Prod',
  'Max',
  'Min',
  'All',
  'Any',
  'ArgMax',
  'ArgMin',
];
SPECS.Identity = { inputs: UNARY, shares: () => true };
SPECS.Cast = { inputs: UNARY, shares: (ins, a) => a.dtype === ins.x?.dtype };
for (const k of BINARY_KERNELS) SPECS[k] = { inputs: BINARY };
for (const k of UNARY_KERNELS) SPECS[k] ??= { inputs: UNARY };

export const TORCH_BACKEND = 'torch';

/** Registers every kernel of SPECS that the addon has, and a cpu fallback for every other cpu kernel. */
export function registerTorchKernels(nativeKernels: string[]): { native: string[]; fallback: string[] } {
  const have = new Set(nativeKernels);
  const native: string[] = [];
  for (const [name, spec] of Object.entries(SPECS)) {
    if (!have.has(name)) continue;
    native.push(name);
    tf.registerKernel({
      kernelName: name,
      backendName: TORCH_BACKEND,
      kernelFunc: ({ inputs, attrs, backend }) => {
        const b = backend as unknown as TorchBackend;
        const ins = inputs as unknown as Inputs;
        if (spec.shares?.(ins, (attrs ?? {}) as Attrs)) return b.share(ins.x!) as never;
        let list: Info[];
        if (spec.inputs === 'all') list = Object.values(inputs as object) as Info[];
        else list = (spec.inputs ?? UNARY).map((n) => ins[n]).filter((t): t is Info => t !== undefined && t !== null);
        let nativeAttrs: Attrs;
        try {
          nativeAttrs = spec.attrs ? spec.attrs(ins, (attrs ?? {}) as Attrs) : ((attrs ?? {}) as Attrs);
        } catch (e) {
          if (e instanceof Unsupported) return runOnCpu(name, e.message, b, inputs as never, attrs) as never;
          throw e;
        }
        const out = b.run(name, list, nativeAttrs, { inputs: inputs as never, attrs });
        return (spec.multi ? out : out[0]) as never;
      },
    });
  }
  const fallback: string[] = [];
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (tf.getKernel(k.kernelName, TORCH_BACKEND)) continue;
    fallback.push(k.kernelName);
    tf.registerKernel({
      kernelName: k.kernelName,
      backendName: TORCH_BACKEND,
      kernelFunc: ({ inputs, attrs, backend }) =>
        runOnCpu(k.kernelName, 'not implemented natively', backend as unknown as TorchBackend, inputs as never, attrs) as never,
    });
  }
  const missing = [...have].filter((k) => !SPECS[k]);
  if (missing.length)
    throw new PiatError('torch-kernel-table', `torch backend: native kernels without a JavaScript entry: ${missing.join(', ')}`);
  return { native, fallback };
}
