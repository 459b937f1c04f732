/**
 * Table IV as the paper ran it: the paper profile fine-tunes ConViT-B, ViT-B and DeiT-S from timm's
 * ImageNet-1K files placed by the user; a missing file stops the notebook before any training with
 * the file, the folder and how to get it; the pool's model carries the file's weights under a new head.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT, setup, tmpDir } from '../helpers';
import { poolConfig, poolModel } from '../../src/experiments/pool';
import { runTable4, table4Archs } from '../../src/experiments/table4';
import { findPretrained, PRETRAINED, readStateDict, toStateDict } from '../../src/models/pytorch';
import { PiatError } from '../../src/util/errors';

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'pytorch', 'vit-tiny.pt');

test('setup', async () => {
  await setup();
});

test("the paper profile's ViTs fine-tune from pretrained files with the paper's recipe; the tiny stand-in trains from scratch", () => {
  for (const arch of table4Archs('paper')) {
    const c = poolConfig('paper', { arch });
    assert.equal(c.pretrained, true, arch);
    assert.ok(PRETRAINED[arch], `${arch} names its timm weights`);
    assert.deepEqual([c.epochs, c.lr, c.weightDecay, c.patch], [40, 0.1, 1e-4, 4]);
    assert.deepEqual(c.lrSchedule, { kind: 'piecewise', milestones: [36, 38] });
  }
  assert.equal(poolConfig('quick', { arch: 'vit-tiny' }).pretrained, undefined);
});

test('a missing pretrained file names the file, the folder and the timm weights to fetch; Table IV stops before training', async () => {
  const dir = tmpDir();
  assert.throws(
    () => findPretrained('vit-b', dir),
    (e: unknown) =>
      e instanceof PiatError &&
      e.code === 'missing-pretrained' &&
      e.message.includes(dir) &&
      e.message.includes('vit_base_patch16_224.augreg_in1k') &&
      e.message.includes(path.join(dir, 'vit-b.safetensors')),
  );
  const runs = tmpDir();
  const env = { PIAT_PRETRAINED: process.env.PIAT_PRETRAINED, PIAT_RUNS: process.env.PIAT_RUNS };
  process.env.PIAT_PRETRAINED = dir;
  process.env.PIAT_RUNS = runs;
  try {
    await assert.rejects(runTable4('paper', { progress: false }), /No pretrained convit-b weights/);
    assert.deepEqual(fs.readdirSync(runs), [], 'nothing was trained or written');
  } finally {
    for (const [k, v] of Object.entries(env))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(runs, { recursive: true, force: true });
});

test("the pool's model holds the pretrained weights under its own head, for the dataset's classes", () => {
  const dir = tmpDir();
  fs.copyFileSync(FIXTURE, path.join(dir, 'vit-tiny.pt'));
  const prev = process.env.PIAT_PRETRAINED;
  process.env.PIAT_PRETRAINED = dir;
  try {
    // the fixture: dim 32, 2 blocks, 2 heads, patch 4 on 32×32 — the registry's vit-tiny with 7 classes
    const c = { ...poolConfig('quick', { arch: 'vit-tiny' }), patch: 4, pretrained: true };
    const model = poolModel(c, 7, [32, 32, 3])();
    const ours = toStateDict(model, { arch: 'vit-tiny', dialect: 'timm' });
    const theirs = readStateDict(FIXTURE);
    for (const [k, t] of ours) {
      if (k.startsWith('head.')) assert.deepEqual(t.shape, k === 'head.weight' ? [7, 32] : [7], k);
      else
        assert.deepEqual(
          Array.from(new Float32Array(t.bytes.slice().buffer)),
          Array.from(new Float32Array(theirs.get(k)!.bytes.slice().buffer)),
          k,
        );
    }
    model.dispose();
  } finally {
    if (prev === undefined) delete process.env.PIAT_PRETRAINED;
    else process.env.PIAT_PRETRAINED = prev;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
