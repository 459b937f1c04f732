/**
 * `piat fetch cifar10|cifar100|svhn`: downloads the official files for users with internet,
 * verifies their MD5 checksums (the values the dataset authors and torchvision publish), and
 * unpacks them into datasets/<name>/. Nothing else in the library touches the network.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as http from 'http';
import * as https from 'https';
import { createHash } from 'crypto';
import { gunzipSync } from 'zlib';
import { PiatError } from '../util/errors';
import { Progress } from '../util/progress';

export interface RemoteFile {
  url: string;
  md5: string;
  /** 'tar.gz': unpack into the dataset folder; 'file': keep as it is */
  kind: 'tar.gz' | 'file';
}

export const OFFICIAL: Record<'cifar10' | 'cifar100' | 'svhn', RemoteFile[]> = {
  cifar10: [{ url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530', kind: 'tar.gz' }],
  cifar100: [{ url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz', md5: '03b5dce01913d631647c71ecec9e9cb8', kind: 'tar.gz' }],
  svhn: [
    { url: 'http://ufldl.stanford.edu/housenumbers/train_32x32.mat', md5: 'e26dedcc434d2e4c54c9b2d4a06d8373', kind: 'file' },
    { url: 'http://ufldl.stanford.edu/housenumbers/test_32x32.mat', md5: 'eb5a983be6a315427106f1b164d9cef3', kind: 'file' },
  ],
};

export function md5(buf: Uint8Array): string {
  return createHash('md5').update(buf).digest('hex');
}

/** Throws PiatError('checksum-mismatch') unless `buf` has the expected MD5. */
export function verifyMd5(buf: Uint8Array, expected: string, what: string): void {
  const got = md5(buf);
  if (got !== expected) {
    throw new PiatError(
      'checksum-mismatch',
      `${what}: MD5 ${got} does not match the published ${expected}; the download is corrupt or not the official file. Delete it and fetch again.`,
    );
  }
}

/**
 * Entries of a (ustar/GNU) tar archive: regular files, with folders implied by their paths. An
 * archive is data from the network: an entry naming a place outside the target folder (absolute,
 * `..`) and a link of any kind are refused, never followed or created.
 */
export function untar(buf: Uint8Array): { name: string; data: Uint8Array }[] {
  const out: { name: string; data: Uint8Array }[] = [];
  let off = 0;
  let longName: string | null = null;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, b: number) => Buffer.from(h.subarray(a, b)).toString('latin1').replace(/\0.*$/s, '');
    const size = parseInt(str(124, 136).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    const prefix = str(345, 500);
    const name = longName ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    longName = null;
    const data = buf.subarray(off + 512, off + 512 + size);
    if (type === 'L') longName = Buffer.from(data).toString('latin1').replace(/\0.*$/s, '');
    else if (type === '0' || type === '\0' || type === '7') out.push({ name: safeEntryName(name), data });
    else if (type === '1' || type === '2' || type === 'K')
      throw new PiatError(
        'bad-format',
        `tar entry '${name}' is a ${type === '1' ? 'hard' : 'symbolic'} link; fetch does not create links.`,
      );
    else if (type === '5') safeEntryName(name);
    else if (type !== 'x' && type !== 'g')
      throw new PiatError('bad-format', `tar entry '${name}' has type '${type}' (not a file or folder); fetch does not create it.`);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** A tar entry's path, refused unless it stays inside the target folder. */
function safeEntryName(raw: string): string {
  const name = path.posix.normalize(raw.replace(/\\/g, '/'));
  if (path.posix.isAbsolute(name) || /^[A-Za-z]:/.test(name) || name === '..' || name.startsWith('../')) {
    throw new PiatError('bad-format', `tar entry '${raw}' points outside the target folder; fetch refuses it.`);
  }
  return name;
}

function download(url: string, onProgress: (got: number, total: number) => void, redirects = 5): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    get(url, (res) => {
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && res.headers.location && redirects > 0) {
        res.resume();
        resolve(download(new URL(res.headers.location, url).toString(), onProgress, redirects - 1));
        return;
      }
      if (res.statusCode !== 200) {
        res.resume();
        reject(new PiatError('download-failed', `GET ${url}: HTTP ${res.statusCode}`));
        return;
      }
      const total = Number(res.headers['content-length'] ?? 0);
      const chunks: Buffer[] = [];
      let got = 0;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        got += c.length;
        onProgress(got, total);
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    }).on('error', (e) =>
      reject(
        new PiatError(
          'download-failed',
          `GET ${url}: ${e.message}. This machine may have no internet access; copy the official files into the datasets folder instead.`,
        ),
      ),
    );
  });
}

/** Unpacks (or stores) one verified file into `dir`. */
function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

export function installFile(buf: Uint8Array, file: RemoteFile, dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  if (file.kind === 'file') {
    const dest = path.join(dir, path.basename(new URL(file.url).pathname));
    fs.writeFileSync(dest, buf);
    written.push(dest);
  } else {
    const root = path.resolve(dir);
    for (const e of untar(gunzipSync(buf))) {
      const dest = path.resolve(root, e.name);
      // untar already refused such names; checked again where the path is made
      if (!dest.startsWith(root + path.sep)) throw new PiatError('bad-format', `tar entry '${e.name}' points outside ${root}.`);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      if (isLink(dest))
        throw new PiatError('bad-format', `${dest} is a link; fetch does not write through links. Remove it and fetch again.`);
      fs.writeFileSync(dest, e.data);
      written.push(dest);
    }
  }
  return written;
}

export async function fetchDataset(name: keyof typeof OFFICIAL, dir: string): Promise<string[]> {
  const files = OFFICIAL[name];
  if (!files)
    throw new PiatError('unknown-option', `Unknown dataset '${name}' for fetch. Expected one of: ${Object.keys(OFFICIAL).join(', ')}.`);
  const written: string[] = [];
  for (const f of files) {
    let progress: Progress | null = null;
    let shownMb = 0;
    const buf = await download(f.url, (got, total) => {
      progress ??= new Progress({
        label: `fetch ${path.basename(f.url)} (MB)`,
        total: Math.max(1, Math.ceil(total / 1e6)),
        intervalMs: 2000,
      });
      const mb = Math.floor(got / 1e6);
      if (mb > shownMb) {
        progress.tick(mb - shownMb);
        shownMb = mb;
      }
    });
    verifyMd5(buf, f.md5, f.url);
    written.push(...installFile(buf, f, dir));
  }
  return written;
}
