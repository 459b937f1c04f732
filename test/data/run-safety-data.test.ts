/**
 * Issue 15, item 3: a dataset's files come from one folder. A data folder holding part of a set is
 * an error listing what each folder has (not labels from another copy); a data folder that does
 * not exist is an error; dataDir works for every dataset (mnist: the official IDX files).
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { loadDataset, loadFashionMnist } from '../../src/data/images';
import { readIdx, encodeIdx } from '../../src/data/idx';
import { buildRun } from '../../src/train/run-config';
import { PiatError } from '../../src/util/errors';
import { setup, tmpDir } from '../helpers';
import { tinyConfig, writeIdxSet } from '../run-safety-helpers';

before(setup);

const missing =
  (...patterns: RegExp[]) =>
  (e: unknown) => {
    assert.ok(e instanceof PiatError, String(e));
    assert.equal(e.code, 'missing-dataset', e.message);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  };

test('a data folder with the test images but not their labels is refused, listing what it has', () => {
  const dir = tmpDir();
  writeIdxSet(dir, 't10k', 10, { only: 'images' });
  // before: the labels came silently from Debian's copy
  assert.throws(
    () => loadDataset('fashion-mnist', 'test', { dir }),
    missing(
      /file t10k-labels-idx1-ubyte\.gz or t10k-labels-idx1-ubyte not found/,
      new RegExp(`${dir}: has t10k-images-idx3-ubyte; lacks t10k-labels-idx1-ubyte\\.gz or t10k-labels-idx1-ubyte`),
      /Looked only in the data folder given/,
    ),
  );
});

test('without a data folder, the first folder holding the complete set is used, never half of one', () => {
  const data = tmpDir();
  // $PIAT_DATA/fashion-mnist holds 4 test images and no labels; Debian's folder holds everything
  writeIdxSet(path.join(data, 'fashion-mnist'), 't10k', 4, { only: 'images' });
  const old = process.env.PIAT_DATA;
  process.env.PIAT_DATA = data;
  try {
    const ds = loadFashionMnist('test');
    assert.equal(ds.size, 10000, "Debian's complete set, images and labels together");
    // both halves present, but a short labels file: the pair from one folder, checked together
    writeIdxSet(path.join(data, 'fashion-mnist'), 't10k', 4, { only: 'labels' });
    assert.equal(loadFashionMnist('test').size, 4, 'the first complete folder wins');
  } finally {
    if (old === undefined) delete process.env.PIAT_DATA;
    else process.env.PIAT_DATA = old;
  }
});

test('a data folder that does not exist is an error, for every dataset and in run configs', () => {
  const nowhere = path.join(tmpDir(), 'no-such-folder');
  for (const name of ['mnist', 'fashion-mnist', 'cifar10', 'cifar100', 'svhn'] as const) {
    assert.throws(
      () => loadDataset(name, 'train', { dir: nowhere }),
      missing(new RegExp(`${name}: the data folder ${nowhere} \\(--data-dir / dataDir\\) does not exist`)),
    );
  }
  assert.throws(() => buildRun(tinyConfig('x', { dataDir: nowhere })), missing(/does not exist/));
});

test('dataDir works for mnist: the official IDX files in it instead of the embedded digits', () => {
  const dir = tmpDir();
  writeIdxSet(dir, 'train', 20, { gzip: true });
  writeIdxSet(dir, 't10k', 10);
  const run = buildRun(tinyConfig('x', { dataDir: dir, trainSize: undefined, testSize: undefined }));
  assert.equal(run.train.size, 20);
  assert.equal(run.test.size, 10);
  assert.deepEqual(Array.from(run.train.labels.slice(0, 12)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  run.model.dispose();
  assert.throws(() => buildRun(tinyConfig('x', { dataset: 'two-circles', dataDir: dir })), /config\.dataDir: two-circles is generated/);
});

test('a truncated .gz IDX file is named, with the cause', () => {
  const dir = tmpDir();
  const file = path.join(dir, 't10k-images-idx3-ubyte.gz');
  const gz = gzipSync(encodeIdx([4, 28, 28], new Uint8Array(4 * 784).fill(7)));
  fs.writeFileSync(file, gz.subarray(0, gz.length - 20));
  assert.throws(
    () => readIdx(file),
    (e: unknown) =>
      e instanceof PiatError &&
      e.code === 'bad-format' &&
      e.message.startsWith(file) &&
      /gzip data is truncated or corrupt/.test(e.message),
  );
});
