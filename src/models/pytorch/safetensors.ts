/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON
 * header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {...}} and the raw
 * little-endian data. It holds only tensors, so reading it executes nothing. The format is a few
 * lines; a package would add nothing.
 */
import { PiatError } from '../../util/errors';
import { DTYPE_BYTES, numel, StateDict, TorchDtype, TorchTensor } from './tensor';

const DTYPES: Record<string, TorchDtype> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};
const CODES = Object.fromEntries(Object.entries(DTYPES).map(([k, v]) => [v, k])) as Record<TorchDtype, string>;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export function readSafetensors(bytes: Uint8Array, file: string): StateDict {
  const bad = (what: string) => new PiatError('bad-checkpoint', `${file} is not a valid safetensors file: ${what}.`);
  if (bytes.byteLength < 8) throw bad('it is shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.byteLength - 8) throw bad(`its header claims ${headerLength} bytes, the file has ${bytes.byteLength - 8}`);
  let header: Record<string, HeaderEntry | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as typeof header;
  } catch (e) {
    throw bad(`its header is not JSON (${(e as Error).message})`);
  }
  const data = bytes.subarray(8 + headerLength);
  const out: StateDict = new Map();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = raw as HeaderEntry;
    const dtype = DTYPES[e.dtype];
    if (!dtype) throw bad(`tensor ${name} has dtype ${e.dtype}, which is not one of ${Object.keys(DTYPES).join(', ')}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0))
      throw bad(`tensor ${name} has shape ${JSON.stringify(e.shape)}`);
    const [begin, end] = e.data_offsets ?? [];
    if (!(
      Number.isInteger(begin) &&
      Number.isInteger(end) &&
      begin >= 0 &&
      end <= data.byteLength &&
      end - begin === numel(e.shape) * DTYPE_BYTES[dtype]
    ))
      throw bad(
        `tensor ${name}'s data offsets ${JSON.stringify(e.data_offsets)} do not fit ${dtype} [${e.shape}] in ${data.byteLength} data bytes`,
      );
    out.set(name, { dtype, shape: e.shape, bytes: data.subarray(begin, end) });
  }
  return out;
}

export function writeSafetensors(tensors: StateDict, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = Object.keys(metadata).length ? { __metadata__: metadata } : {};
  let offset = 0;
  const parts: TorchTensor[] = [];
  for (const [name, t] of tensors) {
    header[name] = { dtype: CODES[t.dtype], shape: t.shape, data_offsets: [offset, offset + t.bytes.byteLength] };
    offset += t.bytes.byteLength;
    parts.push(t);
  }
  // the header is padded with spaces to 8 bytes, as the reference writer does (aligned data)
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  let at = 8 + head.byteLength;
  for (const t of parts) {
    out.set(t.bytes, at);
    at += t.bytes.byteLength;
  }
  return out;
}
