/**
 * IDX files (MNIST, Fashion-MNIST), plain or gzipped: magic 0x0000 <type> <ndims>, big-endian
 * uint32 dimensions, then the data. Only unsigned-byte data (type 0x08) occurs in these sets.
 */
import * as fs from 'fs';
import { gunzipSync } from 'zlib';
import { PiatError } from '../util/errors';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export function parseIdx(buf: Uint8Array, source = 'IDX data'): IdxArray {
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new PiatError(
        'bad-format',
        `${source}: the gzip data is truncated or corrupt (${(e as Error).message}); copy or fetch the file again.`,
      );
    }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw new PiatError('bad-format', `${source}: not an IDX file (bad magic number).`);
  if (buf[2] !== 0x08)
    throw new PiatError('bad-format', `${source}: IDX element type 0x${buf[2].toString(16)} is not unsigned byte (0x08).`);
  const nd = buf[3];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims = Array.from({ length: nd }, (_, i) => view.getUint32(4 + 4 * i, false));
  const start = 4 + 4 * nd;
  const n = dims.reduce((a, b) => a * b, 1);
  if (buf.length - start !== n) {
    throw new PiatError('bad-format', `${source}: header says ${dims.join('×')} = ${n} bytes of data, the file has ${buf.length - start}.`);
  }
  return { dims, data: buf.subarray(start, start + n) };
}

export function readIdx(file: string): IdxArray {
  return parseIdx(fs.readFileSync(file), file);
}

/** Writes an uncompressed IDX file of unsigned bytes (for tests and exports). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(head.buffer);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
}

/**
 * The items of `idx` in the half-open ranges [from, to) along its first dimension, in order (a
 * negative bound counts from the end, `to` = 0 means the end). Ranges must be in order and not
 * overlap. Used to ship only the images a run touches (bench/gpu/cut-idx.ts).
 */
export function sliceIdx(idx: IdxArray, ranges: [number, number][], source = 'IDX data'): IdxArray {
  const n = idx.dims[0];
  const per = idx.dims.slice(1).reduce((a, b) => a * b, 1);
  const abs = ranges.map(([a, b]) => [a < 0 ? n + a : a, b <= 0 ? n + b : b] as const);
  abs.forEach(([a, b], i) => {
    if (a < 0 || b > n || a >= b || (i > 0 && abs[i - 1][1] > a)) {
      throw new PiatError(
        'bad-option',
        `${source} has ${n} items: the ranges ${JSON.stringify(ranges)} are out of order, empty or past its end.`,
      );
    }
  });
  const count = abs.reduce((s, [a, b]) => s + b - a, 0);
  const data = new Uint8Array(count * per);
  let at = 0;
  for (const [a, b] of abs) {
    data.set(idx.data.subarray(a * per, b * per), at);
    at += (b - a) * per;
  }
  return { dims: [count, ...idx.dims.slice(1)], data };
}
