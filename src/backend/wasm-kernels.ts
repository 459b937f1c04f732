/**
 * Convolution gradients for the wasm backend, as convolutions (so they run on XNNPACK).
 *
 * - Conv2DBackpropFilter is missing from tfjs-backend-wasm 4.22 (no conv net can train there).
 *   dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·s+kh−pt, ow·s+kw−pl, ci]·dy[n,oh,ow,co] is a convolution
 *   of x (batch and channel axes swapped: [Ci,H,W,N]) with dy ([OH,OW,N,Co]) at dilation = stride.
 * - Conv2DBackpropInput exists but is a plain loop (~10× slower than the forward convs); dx is a
 *   stride-1 convolution of the stride-dilated, padded dy with the flipped, transposed filter.
 * Measured in ../shared/notes/wasm-backend-findings.md; checked against the cpu backend in tests.
 *
 * Kernels are composed from the backend's own kernel functions on TensorInfos, as tfjs's composite
 * kernels are, so memory ownership stays with the backend: every intermediate is freed here.
 */
import * as tf from '@tensorflow/tfjs';

type Info = tf.TensorInfo;
type Backend = { disposeData(id: object): boolean };
type Pads = [[number, number], [number, number], [number, number], [number, number]];

function composer(backend: Backend) {
  const run = (name: string, inputs: Record<string, Info>, attrs: Record<string, unknown> = {}): Info => {
    const k = tf.getKernel(name, 'wasm');
    if (!k) throw new Error(`wasm kernel ${name} is missing`);
    return k.kernelFunc({ inputs: inputs as never, attrs: attrs as never, backend: backend as never }) as Info;
  };
  const free = (...infos: Info[]) => infos.forEach((i) => backend.disposeData(i.dataId));
  const conv = (x: Info, filter: Info, dilations: [number, number], pad: Pads): Info =>
    run('Conv2D', { x, filter }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined });
  return { run, free, conv };
}

function convInfo(xShape: number[], filterShape: number[], attrs: Record<string, unknown>) {
  if (attrs.dataFormat && attrs.dataFormat !== 'NHWC')
    throw new Error(`piat-ts wasm conv gradients support NHWC only, got ${JSON.stringify(attrs.dataFormat)}`);
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    1,
    attrs.pad as 'valid',
    attrs.dimRoundingMode as 'floor' | undefined,
    false,
    'channelsLast',
  );
}

const backpropFilter: tf.KernelFunc = ({ inputs, attrs = {}, backend }) => {
  const { run, free, conv } = composer(backend as unknown as Backend);
  const x = inputs.x as Info;
  const dy = inputs.dy as Info;
  const info = convInfo(x.shape, attrs.filterShape as number[], attrs as Record<string, unknown>);
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow, padInfo } = info;
  const [n, h, w, ci] = x.shape;
  // rows/cols the kernel can reach; anything past them is cropped, any shortfall is zero-padded
  const needH = (oh - 1) * sh + kh - padInfo.top;
  const needW = (ow - 1) * sw + kw - padInfo.left;
  let xin = x;
  if (needH < h || needW < w) xin = run('Slice', { x }, { begin: [0, 0, 0, 0], size: [n, Math.min(h, needH), Math.min(w, needW), ci] });
  const xT = run('Transpose', { x: xin }, { perm: [3, 1, 2, 0] });
  if (xin !== x) free(xin);
  const dyT = run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const out = conv(
    xT,
    dyT,
    [sh, sw],
    [
      [0, 0],
      [padInfo.top, Math.max(0, needH - h)],
      [padInfo.left, Math.max(0, needW - w)],
      [0, 0],
    ],
  );
  free(xT, dyT);
  const dW = run('Transpose', { x: out }, { perm: [1, 2, 0, 3] });
  free(out);
  return dW;
};

const backpropInput: tf.KernelFunc = ({ inputs, attrs = {}, backend }) => {
  const { run, free, conv } = composer(backend as unknown as Backend);
  const dy = inputs.dy as Info;
  const filter = inputs.filter as Info;
  const inputShape = attrs.inputShape as number[];
  const info = convInfo(inputShape, filter.shape, attrs as Record<string, unknown>);
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow, padInfo } = info;
  const [n, h, w] = inputShape;
  const co = dy.shape[3];
  if (padInfo.top > kh - 1 || padInfo.left > kw - 1)
    throw new Error('piat-ts wasm Conv2DBackpropInput: padding larger than the kernel is not supported');
  let dyd = dy;
  if (sh > 1 || sw > 1) {
    // insert (stride − 1) zeros between rows and columns of dy
    const r1 = run('Reshape', { x: dy }, { shape: [n, oh, 1, ow, 1, co] });
    const padded = run(
      'PadV2',
      { x: r1 },
      {
        paddings: [
          [0, 0],
          [0, 0],
          [0, sh - 1],
          [0, 0],
          [0, sw - 1],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    free(r1);
    const r2 = run('Reshape', { x: padded }, { shape: [n, oh * sh, ow * sw, co] });
    free(padded);
    dyd = run('Slice', { x: r2 }, { begin: [0, 0, 0, 0], size: [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, co] });
    free(r2);
  }
  const flipped = run('Reverse', { x: filter }, { dims: [0, 1] });
  const wT = run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
  free(flipped);
  const top = kh - 1 - padInfo.top;
  const left = kw - 1 - padInfo.left;
  const bottom = h + kh - 2 - (oh - 1) * sh - top;
  const right = w + kw - 2 - (ow - 1) * sw - left;
  const dx = conv(
    dyd,
    wT,
    [1, 1],
    [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
  );
  if (dyd !== dy) free(dyd);
  free(wT);
  return dx;
};

let registered = false;

/** Registers the kernels above for 'wasm' (idempotent). */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  for (const [kernelName, kernelFunc] of [
    ['Conv2DBackpropFilter', backpropFilter],
    ['Conv2DBackpropInput', backpropInput],
  ] as const) {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
}
