/** Writers of the official dataset formats, so tests can make small real files. */
import { deflateSync } from 'zlib';
import { concatBytes } from '../src/util/fsx';

function pad8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function element(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + pad8(body.length));
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}

/** MATLAB v5 numeric matrix (uint8 class 9 / double class 6), column-major `data`. */
function matrix(name: string, dims: number[], data: Uint8Array | Float64Array): Uint8Array {
  const isU8 = data instanceof Uint8Array;
  const flags = new Uint8Array(8);
  new DataView(flags.buffer).setUint32(0, isU8 ? 9 : 6, true);
  const dimBytes = new Uint8Array(new Int32Array(dims).buffer);
  const nameBytes = new Uint8Array(Buffer.from(name, 'latin1'));
  const real = isU8 ? data : new Uint8Array(data.buffer);
  const body = concatBytes([element(6, flags), element(5, dimBytes), element(1, nameBytes), element(isU8 ? 2 : 9, real)]);
  return element(14, body);
}

/** A little-endian MAT v5 file; `compress` wraps each variable in miCOMPRESSED as MATLAB does by default. */
export function encodeMat5(vars: { name: string; dims: number[]; data: Uint8Array | Float64Array }[], compress: boolean): Uint8Array {
  const header = new Uint8Array(128).fill(32);
  header.set(Buffer.from('MATLAB 5.0 MAT-file, written by piat-ts tests', 'latin1'));
  new DataView(header.buffer).setUint16(124, 0x0100, true);
  header.set(Buffer.from('IM', 'latin1'), 126);
  const els = vars.map((v) => {
    const m = matrix(v.name, v.dims, v.data);
    if (!compress) return m;
    const z = new Uint8Array(deflateSync(m));
    const out = new Uint8Array(8 + z.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, 15, true);
    dv.setUint32(4, z.length, true);
    out.set(z, 8);
    return out;
  });
  return concatBytes([header, ...els]);
}

/** A ustar archive of regular files. */
export function encodeTar(files: { name: string; data: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const h = new Uint8Array(512);
    h.set(Buffer.from(f.name, 'latin1'));
    h.set(Buffer.from('0000644\0', 'latin1'), 100);
    h.set(Buffer.from(f.data.length.toString(8).padStart(11, '0') + '\0', 'latin1'), 124);
    h.set(Buffer.from('        ', 'latin1'), 148);
    h[156] = 48;
    h.set(Buffer.from('ustar\x0000', 'latin1'), 257);
    const sum = h.reduce((a, b) => a + b, 0);
    h.set(Buffer.from(sum.toString(8).padStart(6, '0') + '\0 ', 'latin1'), 148);
    parts.push(h, f.data, new Uint8Array((512 - (f.data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return concatBytes(parts);
}
