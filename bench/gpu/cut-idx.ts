/**
 * Cuts a folder of (gzipped) IDX files down to the items a run touches, keeping the official names
 * and format so the loaders read the result like the full set. Each spec is
 * `FILE=from:to[,from:to…]` (half-open ranges, negative counts from the end, `to` 0 = the end).
 *
 * usage: node dist/bench/gpu/cut-idx.js SRC_DIR DST_DIR FILE=0:1000,-500:0 …
 */
import * as fs from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { encodeIdx, readIdx, sliceIdx } from '../../src/data/idx';

function main(): void {
  const [src, dst, ...specs] = process.argv.slice(2);
  if (!src || !dst || specs.length === 0) throw new Error('usage: cut-idx.js SRC_DIR DST_DIR FILE=from:to[,from:to…] …');
  fs.mkdirSync(dst, { recursive: true });
  for (const spec of specs) {
    const [name, list] = spec.split('=');
    const ranges = (list ?? '').split(',').map((r) => r.split(':').map(Number) as [number, number]);
    if (!list || ranges.some((r) => r.length !== 2 || r.some((v) => !Number.isInteger(v))))
      throw new Error(`bad spec '${spec}': expected FILE=from:to[,from:to…]`);
    const file = path.join(src, name);
    const cut = sliceIdx(readIdx(file), ranges, file);
    const bytes = encodeIdx(cut.dims, cut.data);
    fs.writeFileSync(path.join(dst, name), name.endsWith('.gz') ? gzipSync(bytes) : bytes);
    console.log(`${name}: ${cut.dims[0]} items`);
  }
}

main();
