/**
 * Per-image correctness, kept with every evaluation so that two methods can be compared on the same
 * images (a paired comparison: DESIGN.md, "The shapes that hold it together"). Stored compactly as
 * a base64 bitset, so that an evaluation's JSON (an eval-*.json cache, a records.jsonl line) stays
 * small: 10 000 images take 1 668 characters.
 */
import { PiatError } from '../util/errors';

/** Per-image correctness of one evaluation: images `from`..`from + n − 1` of the split it ran on, bit i set when image from+i was classified correctly (after the attack). */
export interface PerImage {
  from: number;
  n: number;
  /** base64 of a bitset, LSB-first within each byte */
  bits: string;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Packs per-image flags (true/1: correct) into a PerImage starting at image `from` of its split. */
export function toPerImage(flags: ArrayLike<boolean | number>, from = 0): PerImage {
  if (!isCount(from)) throw new PiatError('bad-value', `toPerImage: from must be a non-negative integer, got ${from}`);
  const n = flags.length;
  const bytes = new Uint8Array(Math.ceil(n / 8));
  for (let i = 0; i < n; i++) if (flags[i]) bytes[i >> 3] |= 1 << (i & 7);
  return { from, n, bits: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
}

/**
 * The flags again, 0 or 1 per image. Throws PiatError('bad-value') naming the problem when `p` is
 * not a well-formed PerImage: from or n not a non-negative integer, bits not base64, not exactly
 * ceil(n/8) bytes, or a padding bit (beyond image n − 1) set.
 */
export function perImageFlags(p: PerImage): Uint8Array {
  if (!p || typeof p !== 'object')
    throw new PiatError('bad-value', `per-image data must be an object { from, n, bits }, got ${JSON.stringify(p)}`);
  if (!isCount(p.from))
    throw new PiatError('bad-value', `per-image data: from must be a non-negative integer, got ${JSON.stringify(p.from)}`);
  if (!isCount(p.n)) throw new PiatError('bad-value', `per-image data: n must be a non-negative integer, got ${JSON.stringify(p.n)}`);
  if (typeof p.bits !== 'string') throw new PiatError('bad-value', `per-image data: bits must be a base64 string, got ${typeof p.bits}`);
  const bytes = Buffer.from(p.bits, 'base64');
  // Node's decoder skips what is not base64: re-encoding tells a clean string from a damaged one
  if (bytes.toString('base64') !== p.bits) {
    throw new PiatError(
      'bad-value',
      `per-image data: bits is not base64 (${p.bits.length} characters: ${JSON.stringify(p.bits.slice(0, 24))}${p.bits.length > 24 ? '…' : ''})`,
    );
  }
  const want = Math.ceil(p.n / 8);
  if (bytes.length !== want)
    throw new PiatError('bad-value', `per-image data: bits holds ${bytes.length} bytes, but ${p.n} images need exactly ${want}`);
  if (p.n % 8 && bytes[want - 1] >> (p.n % 8))
    throw new PiatError('bad-value', `per-image data: padding bits set after image ${p.n - 1} (last byte ${bytes[want - 1]})`);
  const out = new Uint8Array(p.n);
  for (let i = 0; i < p.n; i++) out[i] = (bytes[i >> 3] >> (i & 7)) & 1;
  return out;
}

/** Fraction of the images classified correctly: count / n, as `accuracy` computes it (0 for no images). */
export function perImageAccuracy(p: PerImage): number {
  const flags = perImageFlags(p);
  let correct = 0;
  for (let i = 0; i < flags.length; i++) correct += flags[i];
  return correct / Math.max(1, p.n);
}

/** True when every row carries per-image data (an evaluation cached before it was kept has none). */
export function allHavePerImage(rows: readonly { perImage?: PerImage }[]): boolean {
  return rows.every((r) => r.perImage !== undefined);
}
