/** File helpers: atomic writes so a crash never leaves a half-written file in place. */
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';

/**
 * Writes `data` to `file` via a temporary file in the same folder and a rename. When the OS refuses
 * any step (disk full, no permission, read-only), `file` is left as it was, the temporary file is
 * removed, and the OS's error is thrown.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, tmp);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    // write(2)'s errors name no file: say which one it was
    const err = e as NodeJS.ErrnoException;
    if (err && typeof err === 'object' && err.code && !err.path) err.path = file;
    // a half-written temporary file would only take space (or, on a full disk, the space needed to retry)
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* the error that matters is the write's */
    }
    throw e;
  }
}

/**
 * write(2) may write fewer bytes than asked without an error (a disk that fills up does this before
 * it reports ENOSPC), and fs.writeSync returns that count: write on until all is written.
 */
function writeAll(fd: number, bytes: Uint8Array, file: string): void {
  for (let off = 0; off < bytes.length;) {
    const n = fs.writeSync(fd, bytes, off, bytes.length - off);
    if (n <= 0) {
      throw Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), {
        code: 'ENOSPC',
        syscall: 'write',
        path: file,
      });
    }
    off += n;
  }
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** Concatenates byte arrays. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
