/**
 * A PyTorch tensor as read from (or written to) a checkpoint file: its dtype, its shape and its
 * contiguous little-endian bytes. A state_dict is an ordered map from parameter names to these.
 */
import { PiatError } from '../../util/errors';

export type TorchDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export interface TorchTensor {
  dtype: TorchDtype;
  shape: number[];
  /** the elements in row-major (contiguous) order, little-endian */
  bytes: Uint8Array;
}

/** Parameter name → tensor, in the file's order. */
export type StateDict = Map<string, TorchTensor>;

export const DTYPE_BYTES: Record<TorchDtype, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** IEEE half → float. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** The tensor's values as float32 (floating dtypes only: a weight stored as integers is an error naming it). */
export function toFloat32(t: TorchTensor, name: string): Float32Array {
  const n = numel(t.shape);
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  if (t.bytes.byteLength !== n * DTYPE_BYTES[t.dtype])
    throw new PiatError(
      'bad-checkpoint',
      `Tensor ${name} has ${t.bytes.byteLength} bytes; ${t.dtype} [${t.shape}] needs ${n * DTYPE_BYTES[t.dtype]}.`,
    );
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'float32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    case 'float64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    case 'float16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    case 'bfloat16': {
      // bfloat16 is the upper half of a float32
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    default:
      throw new PiatError('bad-checkpoint', `Tensor ${name} is ${t.dtype}; a weight must be a floating-point tensor.`);
  }
}

/** A float32 tensor of `shape` from its row-major values. */
export function fromFloat32(values: Float32Array, shape: number[]): TorchTensor {
  if (values.length !== numel(shape)) throw new Error(`${values.length} values do not fill shape [${shape}]`);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return { dtype: 'float32', shape, bytes };
}

/**
 * The contiguous bytes of a strided view (`storage` holds whole elements from `offset`, in
 * elements; `stride` in elements), as torch.save stores a tensor: its storage plus a view on it.
 */
export function contiguousBytes(storage: Uint8Array, itemBytes: number, offset: number, shape: number[], stride: number[]): Uint8Array {
  const n = numel(shape);
  const isContiguous = shape.every((_, d) => shape[d] === 1 || stride[d] === numel(shape.slice(d + 1)));
  const start = offset * itemBytes;
  if (isContiguous) {
    if (start + n * itemBytes > storage.byteLength) throw new RangeError('the tensor runs past the end of its storage');
    return storage.subarray(start, start + n * itemBytes);
  }
  const out = new Uint8Array(n * itemBytes);
  const index = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let src = offset;
    for (let d = 0; d < shape.length; d++) src += index[d] * stride[d];
    if ((src + 1) * itemBytes > storage.byteLength) throw new RangeError('the tensor runs past the end of its storage');
    out.set(storage.subarray(src * itemBytes, (src + 1) * itemBytes), i * itemBytes);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}
