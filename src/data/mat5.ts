/**
 * A reader for MATLAB level-5 MAT-files (what SVHN's train_32x32.mat / test_32x32.mat are):
 * 128-byte header, then data elements; miCOMPRESSED elements are zlib streams of further
 * elements; numeric miMATRIX elements are read into typed arrays (column-major, as MATLAB stores
 * them). Cell arrays, structs, sparse and complex matrices are not needed and are rejected.
 */
import * as fs from 'fs';
import { inflateSync } from 'zlib';
import { PiatError } from '../util/errors';

export interface MatArray {
  name: string;
  /** MATLAB dimensions, e.g. [32, 32, 3, N] */
  dims: number[];
  /** column-major values */
  data: Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;
  /** MATLAB class code (6 double, 7 single, 8 int8, 9 uint8, ...) */
  classCode: number;
}

const MI = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  INT64: 12,
  UINT64: 13,
  MATRIX: 14,
  COMPRESSED: 15,
  UTF8: 16,
};

function typedFrom(type: number, bytes: Uint8Array, little: boolean, src: string): MatArray['data'] {
  const copy = new Uint8Array(bytes); // an aligned copy (Buffer#slice would return a view of the whole pool)
  const b = copy.buffer;
  const swap = (size: number) => {
    if (little || size === 1) return;
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  };
  switch (type) {
    case MI.INT8:
      return new Int8Array(b);
    case MI.UINT8:
      return copy;
    case MI.INT16:
      swap(2);
      return new Int16Array(b);
    case MI.UINT16:
      swap(2);
      return new Uint16Array(b);
    case MI.INT32:
      swap(4);
      return new Int32Array(b);
    case MI.UINT32:
      swap(4);
      return new Uint32Array(b);
    case MI.SINGLE:
      swap(4);
      return new Float32Array(b);
    case MI.DOUBLE:
      swap(8);
      return new Float64Array(b);
    default:
      throw new PiatError('bad-format', `${src}: unsupported MAT data type ${type}.`);
  }
}

interface Element {
  type: number;
  body: Uint8Array;
  next: number;
}

function readElement(buf: Uint8Array, off: number, little: boolean, src: string): Element {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const first = v.getUint32(off, little);
  if (first >>> 16 !== 0) {
    // small data element: size and type packed in 4 bytes, data in the next 4
    const size = first >>> 16;
    return { type: first & 0xffff, body: buf.subarray(off + 4, off + 4 + size), next: off + 8 };
  }
  const size = v.getUint32(off + 4, little);
  if (off + 8 + size > buf.length) throw new PiatError('bad-format', `${src}: truncated data element at byte ${off}.`);
  const body = buf.subarray(off + 8, off + 8 + size);
  const padded = first === MI.COMPRESSED ? size : Math.ceil(size / 8) * 8;
  return { type: first, body, next: off + 8 + padded };
}

function readMatrix(body: Uint8Array, little: boolean, src: string): MatArray {
  let off = 0;
  const flags = readElement(body, off, little, src);
  off = flags.next;
  const fv = new DataView(flags.body.buffer, flags.body.byteOffset, flags.body.byteLength);
  const flagWord = fv.getUint32(0, little);
  const classCode = flagWord & 0xff;
  if (flagWord & 0x800) throw new PiatError('bad-format', `${src}: complex matrices are not supported.`);
  if (classCode < 6 || classCode > 15)
    throw new PiatError('bad-format', `${src}: MATLAB class ${classCode} (cell, struct, sparse, ...) is not supported.`);
  const dimsEl = readElement(body, off, little, src);
  off = dimsEl.next;
  const dims = Array.from(typedFrom(MI.INT32, dimsEl.body, little, src) as Int32Array);
  const nameEl = readElement(body, off, little, src);
  off = nameEl.next;
  const name = Buffer.from(nameEl.body).toString('latin1');
  const real = readElement(body, off, little, src);
  const data = typedFrom(real.type, real.body, little, src);
  const n = dims.reduce((a, b) => a * b, 1);
  if (data.length !== n)
    throw new PiatError(
      'bad-format',
      `${src}: variable '${name}' has ${data.length} values for dimensions ${dims.slice(0, 8).join('×')}${dims.length > 8 ? '×…' : ''}.`,
    );
  return { name, dims, data, classCode };
}

function readElements(buf: Uint8Array, start: number, little: boolean, src: string, out: Map<string, MatArray>): void {
  let off = start;
  while (off + 8 <= buf.length) {
    const el = readElement(buf, off, little, src);
    if (el.type === MI.COMPRESSED) readElements(inflateSync(el.body), 0, little, src, out);
    else if (el.type === MI.MATRIX) {
      const m = readMatrix(el.body, little, src);
      out.set(m.name, m);
    }
    off = el.next;
  }
}

/** All numeric variables of a MAT v5 file, by name. */
export function parseMat5(buf: Uint8Array, src = 'MAT file'): Map<string, MatArray> {
  if (buf.length < 128) throw new PiatError('bad-format', `${src}: too short for a MAT-file.`);
  const header = Buffer.from(buf.subarray(0, 116)).toString('latin1');
  if (header.startsWith('\x89HDF') || /MATLAB 7\.3/.test(header)) {
    throw new PiatError('bad-format', `${src}: MATLAB v7.3 (HDF5) files are not supported; SVHN's official files are v5.`);
  }
  const endian = Buffer.from(buf.subarray(126, 128)).toString('latin1');
  if (endian !== 'IM' && endian !== 'MI') throw new PiatError('bad-format', `${src}: not a MATLAB level-5 MAT-file (no endian indicator).`);
  const out = new Map<string, MatArray>();
  readElements(buf, 128, endian === 'IM', src, out);
  return out;
}

export function readMat5(file: string): Map<string, MatArray> {
  return parseMat5(fs.readFileSync(file), file);
}
