/**
 * Issue 15, items 6 and 8: any unreadable part of the newest checkpoint makes it corrupt: the
 * previous one is used and the corrupt one is moved aside (never rotated into checkpoint.old).
 * A saved model is data: its weight files must lie inside its folder; fetch refuses archive
 * entries outside the target folder, and links. Messages name the cause.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { trainFromConfig, withOverrides } from '../../src/train/run-config';
import { loadModel, loadWeightsInto, saveModel } from '../../src/train/model-io';
import { installFile, untar } from '../../src/data/fetch';
import { mlp } from '../../src/models/mlp';
import { PiatError } from '../../src/util/errors';
import { setup, tmpDir } from '../helpers';
import { encodeTar } from '../formats';
import { captureStderr, strip, tinyConfig } from '../run-safety-helpers';

before(setup);

const twoEpochs = (dir: string) => withOverrides(tinyConfig(dir), { 'train.epochs': 2, 'train.optimizer.momentum': 0.9 });
const epochIn = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).epoch;

const CORRUPTIONS: [string, (cp: string) => void][] = [
  ['optimizer.bin missing', (cp) => fs.rmSync(path.join(cp, 'optimizer.bin'))],
  [
    'model.json without weightsManifest',
    (cp) => {
      const j = JSON.parse(fs.readFileSync(path.join(cp, 'model.json'), 'utf8'));
      delete j.weightsManifest;
      fs.writeFileSync(path.join(cp, 'model.json'), JSON.stringify(j));
    },
  ],
  [
    'optimizer state of other shapes (checksum intact)',
    (cp) => {
      const s = JSON.parse(fs.readFileSync(path.join(cp, 'state.json'), 'utf8'));
      s.optimizer.shapes = s.optimizer.shapes.map((sh: number[]) => [sh.reduce((a, b) => a * b, 1)]);
      fs.writeFileSync(path.join(cp, 'state.json'), JSON.stringify(s));
    },
  ],
  [
    'optimizer state without shapes',
    (cp) => {
      const s = JSON.parse(fs.readFileSync(path.join(cp, 'state.json'), 'utf8'));
      s.optimizer.shapes = null;
      fs.writeFileSync(path.join(cp, 'state.json'), JSON.stringify(s));
    },
  ],
  ['weights.bin missing', (cp) => fs.rmSync(path.join(cp, 'weights.bin'))],
  ['state.json truncated', (cp) => fs.writeFileSync(path.join(cp, 'state.json'), '{"epoch": 2, "rngSt')],
  [
    'model.json with a broken topology',
    (cp) => {
      const j = JSON.parse(fs.readFileSync(path.join(cp, 'model.json'), 'utf8'));
      j.modelTopology = { class_name: 'Nonsense' };
      fs.writeFileSync(path.join(cp, 'model.json'), JSON.stringify(j));
    },
  ],
];

test('each unreadable part of the newest checkpoint falls back to checkpoint.old, which stays the fallback', async () => {
  const refDir = tmpDir();
  const ref = await trainFromConfig(twoEpochs(refDir), { progress: false });
  for (const [what, corrupt] of CORRUPTIONS) {
    const dir = tmpDir();
    await trainFromConfig(twoEpochs(dir), { progress: false });
    fs.rmSync(path.join(dir, 'done.json'));
    corrupt(path.join(dir, 'checkpoint'));
    const { value: r, err } = await captureStderr(() => trainFromConfig(twoEpochs(dir), { progress: false }));
    assert.match(err, /checkpoint is corrupt: /, `${what}: reported`);
    assert.deepEqual(strip(r.records), strip(ref.records), `${what}: epoch 2 retrained from epoch 1, exactly as before`);
    const aside = fs.readdirSync(dir).filter((f) => /^checkpoint\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z$/.test(f));
    assert.equal(aside.length, 1, `${what}: the corrupt checkpoint is moved aside (${fs.readdirSync(dir)})`);
    assert.match(err, new RegExp(`moved .*checkpoint aside to .*${aside[0]}`));
    assert.equal(epochIn(path.join(dir, 'checkpoint.old')), 1, `${what}: checkpoint.old is still the good epoch 1`);
    assert.equal(epochIn(path.join(dir, 'checkpoint')), 2);
  }
});

test('both checkpoints unreadable: an error naming each, nothing moved', async () => {
  const dir = tmpDir();
  await trainFromConfig(twoEpochs(dir), { progress: false });
  fs.rmSync(path.join(dir, 'done.json'));
  fs.rmSync(path.join(dir, 'checkpoint', 'optimizer.bin'));
  fs.rmSync(path.join(dir, 'checkpoint.old', 'weights.bin'));
  await assert.rejects(trainFromConfig(twoEpochs(dir), { progress: false }), (e: unknown) => {
    assert.ok(e instanceof PiatError && e.code === 'bad-checkpoint', String(e));
    assert.match(e.message, /checkpoint is corrupt: .*optimizer\.bin is missing/);
    assert.match(e.message, /checkpoint\.old is corrupt: .*weights\.bin .* is missing/);
    return true;
  });
  assert.deepEqual(
    fs
      .readdirSync(dir)
      .filter((f) => f.startsWith('checkpoint'))
      .sort(),
    ['checkpoint', 'checkpoint.old'],
  );
});

test('weight files named in model.json must lie inside the checkpoint folder', async () => {
  const root = tmpDir();
  const dir = path.join(root, 'model');
  const m = mlp({ inputDim: 3, numClasses: 2, hidden: [4], seed: 1 });
  await saveModel(m, dir);
  fs.copyFileSync(path.join(dir, 'weights.bin'), path.join(root, 'elsewhere.bin'));
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const withPath = (p: string) => {
    const j = structuredClone(json);
    j.weightsManifest[0].paths = [p];
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(j));
  };
  for (const p of ['../elsewhere.bin', path.join(root, 'elsewhere.bin'), 'sub/../../elsewhere.bin']) {
    withPath(p);
    await assert.rejects(
      loadModel(dir),
      (e: unknown) => e instanceof PiatError && e.code === 'bad-checkpoint' && e.message.includes(`'${p}' outside its folder`),
      p,
    );
  }
  fs.symlinkSync(path.join(root, 'elsewhere.bin'), path.join(dir, 'linked.bin'));
  withPath('linked.bin');
  await assert.rejects(loadModel(dir), /is a link or not a regular file/);
  withPath('weights.bin');
  (await loadModel(dir)).dispose();
  m.dispose();
});

test('fetch refuses archive entries outside the target folder, and links', () => {
  const data = new Uint8Array([1, 2, 3]);
  const withType = (tar: Uint8Array, type: string, link = '') => {
    tar[156] = type.charCodeAt(0);
    tar.set(Buffer.from(link, 'latin1'), 157);
    return tar;
  };
  assert.throws(() => untar(encodeTar([{ name: '/etc/evil', data }])), /outside the target folder/);
  assert.throws(() => untar(encodeTar([{ name: 'a/../../evil', data }])), /outside the target folder/);
  assert.throws(
    () => untar(withType(encodeTar([{ name: 'cifar-10-batches-bin/data_batch_1.bin', data: new Uint8Array(0) }]), '2', '/etc/passwd')),
    /is a symbolic link; fetch does not create links/,
  );
  assert.throws(() => untar(withType(encodeTar([{ name: 'x.bin', data: new Uint8Array(0) }]), '1', '../y')), /is a hard link/);
  // nothing is written when any entry is refused
  const dir = tmpDir();
  const tar = encodeTar([
    { name: 'ok.bin', data },
    { name: '../evil', data },
  ]);
  assert.throws(() =>
    installFile(gzipSync(tar), { url: 'https://example.invalid/x.tar.gz', md5: '', kind: 'tar.gz' }, path.join(dir, 'target')),
  );
  assert.ok(!fs.existsSync(path.join(dir, 'evil')) && !fs.existsSync(path.join(dir, 'target', 'ok.bin')));
});

test('a checkpoint of another architecture says so', async () => {
  const dir = tmpDir();
  const small = mlp({ inputDim: 3, numClasses: 2, hidden: [8], seed: 1 });
  const wide = mlp({ inputDim: 3, numClasses: 2, hidden: [16], seed: 1 });
  await saveModel(small, dir);
  await assert.rejects(
    loadWeightsInto(wide, dir),
    (e: unknown) =>
      e instanceof PiatError &&
      e.code === 'wrong-architecture' &&
      /is of another architecture: it holds 4 weights \(.*3×8.*\), the model mlp has 4 \(.*3×16/.test(e.message),
  );
  [small, wide].forEach((m) => m.dispose());
});

test('the NaN-loss message names a checkpoint that exists, or says none was saved', async () => {
  const dir = tmpDir();
  const cfg = withOverrides(tinyConfig(dir), { 'train.optimizer.lr': 1e38, 'train.batchSize': 3, 'train.eval': undefined });
  await assert.rejects(trainFromConfig(cfg, { progress: false }), (e: unknown) => {
    assert.ok(e instanceof PiatError && e.code === 'nan-loss', String(e));
    assert.match(e.message, /at epoch 1, batch \d+/);
    assert.match(e.message, /Nothing was saved in .* yet \(this was the first epoch\)/);
    assert.doesNotMatch(e.message, /checkpoint of epoch 0/);
    return true;
  });
  // diverging in epoch 2: the checkpoint of epoch 1 is named, and it is there
  const dir2 = tmpDir();
  const cfg2 = withOverrides(tinyConfig(dir2), {
    'train.epochs': 2,
    'train.batchSize': 3,
    'train.eval': undefined,
    'train.lrSchedule': { kind: 'piecewise', milestones: [1], factor: 1e40 },
  });
  await assert.rejects(trainFromConfig(cfg2, { progress: false }), (e: unknown) => {
    const m = /The checkpoint of epoch 1 \((.*)\) is intact/.exec((e as Error).message);
    assert.ok(m, (e as Error).message);
    assert.equal(epochIn(m[1]), 1);
    return true;
  });
});
