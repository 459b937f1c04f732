/**
 * PyTorch checkpoints in and out (src/models/pytorch): the fixtures of test/fixtures/pytorch, made by
 * PyTorch from the module definitions in models.py (make_fixtures.py), load into the registered
 * architectures and give PyTorch's logits to 1e-4; exports load back into PyTorch (check_export.py,
 * where /usr/bin/python3 has torch) and into piat-ts; a pickle naming any other global is refused.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { zipSync } from 'fflate';
import { REPO_ROOT, setup, tmpDir } from '../helpers';
import { cnnFc } from '../../src/models/cnn-fc';
import { preActResnet18, resnet18, wideResNet } from '../../src/models/resnet';
import { vit } from '../../src/models/vit';
import { ARCHS } from '../../src/models/registry';
import {
  buildFromTorchCheckpoint,
  DIALECTS,
  loadTorchStateDict,
  readStateDict,
  saveTorchStateDict,
  toStateDict,
} from '../../src/models/pytorch';
import { loadDataset } from '../../src/data/images';
import { evaluate } from '../../src/eval/evaluate';
import { saveModel } from '../../src/train/model-io';
import { writeTorchZip } from '../../src/models/pytorch/torch-zip';
import { PiatError } from '../../src/util/errors';

const DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'pytorch');
const FIXTURES = JSON.parse(fs.readFileSync(path.join(DIR, 'fixtures.json'), 'utf8')).fixtures as Record<string, Fixture>;

interface Fixture {
  build: {
    kind: string;
    inputShape?: number[];
    hidden?: number;
    baseWidth?: number;
    depth?: number;
    width?: number;
    patch?: number;
    dim?: number;
    heads?: number;
    localLayers?: number;
  };
  inputs: [number, number, number, number];
  logits: number[][];
}

/** The registered architecture of a fixture, built at the fixture's reduced size. */
function build(f: Fixture): { model: tf.LayersModel; arch: string } {
  const b = f.build;
  const numClasses = f.logits[0].length;
  const seed = 11;
  switch (b.kind) {
    case 'cnn-fc':
      return { model: cnnFc({ numClasses, inputShape: b.inputShape as [number, number, number], hidden: b.hidden, seed }), arch: 'cnn-fc' };
    case 'resnet18':
      return { model: resnet18({ numClasses, seed, baseWidth: b.baseWidth }), arch: 'resnet18' };
    case 'preact-resnet18':
      return { model: preActResnet18({ numClasses, seed, baseWidth: b.baseWidth }), arch: 'preact-resnet18' };
    case 'wrn34-10':
      return { model: wideResNet({ numClasses, seed, depth: b.depth!, width: b.width! }), arch: 'wrn34-10' };
    case 'vit-tiny':
    case 'convit-b':
      return {
        model: vit({
          numClasses,
          seed,
          patch: b.patch,
          dim: b.dim!,
          depth: b.depth!,
          heads: b.heads!,
          localLayers: b.localLayers,
          name: 'fixture_vit',
        }),
        arch: b.kind,
      };
    default:
      throw new Error(`unknown fixture kind ${b.kind}`);
  }
}

/** The fixtures' inputs (NHWC): the same formula as models.py's fixture_inputs. */
function inputs([n, h, w, c]: number[]): tf.Tensor4D {
  const v = new Float32Array(n * h * w * c);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++)
      for (let z = 0; z < w; z++)
        for (let ch = 0; ch < c; ch++)
          v[((i * h + y) * w + z) * c + ch] = 0.5 + 0.5 * Math.sin(0.9 * i + 1.3 * ch + 0.21 * y + 0.37 * z + 0.05 * y * z);
  return tf.tensor4d(v, [n, h, w, c]);
}

function logits(model: tf.LayersModel, shape: number[]): number[][] {
  return tf.tidy(() => (model.predict(inputs(shape)) as tf.Tensor2D).arraySync());
}

function maxDiff(a: number[][], b: number[][]): number {
  return Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i][j]))));
}

const weightsOf = (m: tf.LayersModel) => m.weights.map((w) => Array.from(w.read().dataSync()));

const python = (() => {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.status !== 0)
    console.log('# /usr/bin/python3 has no torch (Debian: python3-torch): exports are checked against piat-ts only, not PyTorch');
  return r.status === 0;
})();

test('setup', async () => {
  await setup();
});

for (const [name, f] of Object.entries(FIXTURES)) {
  test(`${name}: PyTorch's logits after import (1e-4), and back out to PyTorch`, () => {
    const { model, arch } = build(f);
    const before = tf.memory().numTensors;
    const report = loadTorchStateDict(model, path.join(DIR, name), { arch });
    assert.equal(tf.memory().numTensors, before, 'loading leaves no tensors behind');
    const ours = logits(model, f.inputs);
    const d = maxDiff(ours, f.logits);
    assert.ok(d < 1e-4, `${name}: logits differ from PyTorch's by ${d} (dialect ${report.dialect})`);
    if (name.includes('-p8')) assert.deepEqual(report.resampled.sort(), ['patch_embed/kernel', 'pos_embed/pos']);
    else assert.deepEqual(report.resampled, []);

    // project → file → project
    const dir = tmpDir();
    const out = path.join(dir, name.endsWith('.safetensors') ? 'export.safetensors' : 'export.pt');
    saveTorchStateDict(model, out, { arch });
    const again = build(f).model;
    loadTorchStateDict(again, out, { arch });
    assert.deepEqual(logits(again, f.inputs), ours, 'a round trip through the exported file gives the same logits');

    // project → PyTorch
    if (python) {
      const r = spawnSync('/usr/bin/python3', [path.join(DIR, 'check_export.py'), name, out], { encoding: 'utf8' });
      assert.equal(r.status, 0, `check_export.py failed: ${r.stdout} ${r.stderr}`);
      const torchLogits = JSON.parse(r.stdout).logits as number[][];
      const e = maxDiff(torchLogits, ours);
      assert.ok(e < 1e-4, `${name}: PyTorch's logits of the exported file differ from ours by ${e}`);
    }
    model.dispose();
    again.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

test('the dialect is found from the keys: pytorch-cifar ResNet-18 under a wrapping dict with DataParallel names, TRADES WRN with its unused sub_block1', () => {
  const r18 = build(FIXTURES['resnet18-w4.pt']);
  const rep = loadTorchStateDict(r18.model, path.join(DIR, 'resnet18-w4.pt'), { arch: r18.arch });
  assert.equal(rep.dialect, 'pytorch-cifar');
  assert.ok(rep.ignored.every((k) => k.endsWith('num_batches_tracked')));
  const wrn = build(FIXTURES['wrn-10-1.pt']);
  const w = loadTorchStateDict(wrn.model, path.join(DIR, 'wrn-10-1.pt'), { arch: wrn.arch });
  assert.equal(w.dialect, 'trades');
  assert.ok(w.ignored.some((k) => k.startsWith('sub_block1.')));
  r18.model.dispose();
  wrn.model.dispose();
});

/** A torch.save-style archive whose pickle is `pickle`. */
function archive(pickle: number[]): Uint8Array {
  return zipSync({
    'archive/data.pkl': [Uint8Array.from(pickle), { level: 0 }],
    'archive/version': [new TextEncoder().encode('3\n'), { level: 0 }],
  });
}
const bytes = (s: string) => [...Buffer.from(s, 'utf8')];
const unicode = (s: string) => [0x58, s.length, 0, 0, 0, ...bytes(s)];

test('a pickle that names os.system, builtins.eval or a model class is refused, naming the global, and nothing runs', () => {
  const dir = tmpDir();
  const marker = path.join(dir, 'pwned');
  const calls: [string, string][] = [
    ['os', 'system'],
    ['posix', 'system'],
    ['builtins', 'eval'],
    ['__main__', 'Net'],
  ];
  for (const [mod, name] of calls) {
    const file = path.join(dir, `${name}.pt`);
    // PROTO 2, GLOBAL mod name, (BINUNICODE "touch marker",) TUPLE1, REDUCE, STOP
    fs.writeFileSync(file, archive([0x80, 2, 0x63, ...bytes(`${mod}\n${name}\n`), ...unicode(`touch ${marker}`), 0x85, 0x52, 0x2e]));
    assert.throws(
      () => readStateDict(file),
      (e: unknown) =>
        e instanceof PiatError && e.code === 'unsafe-checkpoint' && e.message.includes(`${mod}.${name}`) && e.message.includes(file),
    );
  }
  assert.equal(fs.existsSync(marker), false);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('nothing loads half a model: a missing tensor, a stray tensor or a wrong shape names the key and leaves every weight as it was', () => {
  const f = FIXTURES['cnn-fc.pt'];
  const dir = tmpDir();
  const sd = readStateDict(path.join(DIR, 'cnn-fc.pt'));
  const { model, arch } = build(f);
  const before = weightsOf(model);
  const write = (name: string, edit: (m: typeof sd) => void) => {
    const copy = new Map(sd);
    edit(copy);
    const file = path.join(dir, name);
    fs.writeFileSync(file, writeTorchZip(copy));
    return file;
  };
  const missing = write('missing.pt', (m) => m.delete('conv3_bn.running_var'));
  assert.throws(() => loadTorchStateDict(model, missing, { arch }), /missing.*conv3_bn\.running_var.*Nothing was loaded/s);
  const stray = write('stray.pt', (m) => m.set('extra.weight', m.get('fc.bias')!));
  assert.throws(() => loadTorchStateDict(model, stray, { arch }), /extra\.weight.*Nothing was loaded/s);
  const small = cnnFc({ numClasses: 5, inputShape: [28, 28, 1], hidden: f.build.hidden, seed: 3 });
  const smallBefore = weightsOf(small);
  assert.throws(
    () => loadTorchStateDict(small, path.join(DIR, 'cnn-fc.pt'), { arch }),
    /fc\.weight has shape \[10,16\].*\[5,16\].*skipLayers: \['fc'\]/s,
  );
  assert.deepEqual(weightsOf(small), smallBefore);
  assert.deepEqual(weightsOf(model), before);
  // fine-tuning on other classes: the head stays the model's own, the rest loads
  const rep = loadTorchStateDict(small, path.join(DIR, 'cnn-fc.pt'), { arch, skipLayers: ['fc'] });
  assert.deepEqual(rep.kept, ['fc/kernel', 'fc/bias']);
  const head = small.weights.map((w, i) => (w.originalName.startsWith('fc/') ? i : -1)).filter((i) => i >= 0);
  assert.deepEqual(
    head.map((i) => weightsOf(small)[i]),
    head.map((i) => smallBefore[i]),
  );
  assert.throws(
    () => loadTorchStateDict(model, path.join(DIR, 'missing-file.pt'), { arch }),
    /No PyTorch checkpoint at .*missing-file\.pt/,
  );
  model.dispose();
  small.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("an architecture's exported keys are the PyTorch code's: pytorch-cifar ResNet-18, TRADES WRN, timm ViT", () => {
  const keys = (kind: string) => [
    ...toStateDict(build(Object.values(FIXTURES).find((f) => f.build.kind === kind)!).model, { arch: kind }).keys(),
  ];
  const r = keys('resnet18');
  assert.ok(r.includes('layer2.0.shortcut.0.weight') && r.includes('layer2.0.shortcut.1.running_var') && r.includes('linear.weight'));
  const w = keys('wrn34-10');
  assert.ok(w.includes('block2.layer.0.convShortcut.weight') && w.includes('bn1.running_mean') && w.includes('fc.bias'));
  const v = keys('vit-tiny');
  assert.ok(
    v.includes('blocks.1.attn.qkv.weight') &&
      v.includes('blocks.0.mlp.fc2.bias') &&
      v.includes('patch_embed.proj.weight') &&
      v.includes('cls_token'),
  );
});

/** PyTorch's numbers for the trained fixture (train_fmnist.py): clean, I-FGSM-20, and PGD-20 under five random starts, on the first n test images. */
const EVAL = JSON.parse(fs.readFileSync(path.join(DIR, 'fixtures.json'), 'utf8')).evaluations['cnn-fc-fmnist.pt'] as {
  n: number;
  eps: number;
  clean: number;
  ifgsm20: number;
  pgd20: number[];
};

test("a cnn-fc trained by PyTorch on Fashion-MNIST: clean and I-FGSM-20 accuracy equal PyTorch's within one image in 500, PGD-20 within its random starts' spread", () => {
  const data = loadDataset('fashion-mnist', 'test');
  const { model, report } = buildFromTorchCheckpoint(path.join(DIR, 'cnn-fc-fmnist.pt'), 'cnn-fc', {
    numClasses: data.numClasses,
    inputShape: data.inputShape,
    seed: 1,
  });
  assert.equal(report.dialect, 'piat');
  const rows = evaluate(model, data, { attacks: ['clean', 'ifgsm20', 'pgd20'], n: EVAL.n, eps: EVAL.eps, progress: false });
  const one = 1 / EVAL.n + 1e-9;
  const [clean, ifgsm, pgd] = rows.map((r) => r.accuracy);
  assert.ok(Math.abs(clean - EVAL.clean) <= one, `clean: ${clean} here, ${EVAL.clean} in PyTorch`);
  // no random start: the same attack step for step
  assert.ok(Math.abs(ifgsm - EVAL.ifgsm20) <= one, `ifgsm20: ${ifgsm} here, ${EVAL.ifgsm20} in PyTorch`);
  // a random start draws other noise here than in PyTorch: within the spread of PyTorch's own five starts
  const [lo, hi] = [Math.min(...EVAL.pgd20), Math.max(...EVAL.pgd20)];
  assert.ok(pgd >= lo - one && pgd <= hi + one, `pgd20: ${pgd} here, PyTorch ${lo}–${hi} over five random starts`);
  model.dispose();
});

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');

test("piat eval --torch-checkpoint FILE --arch NAME prints PyTorch's clean and I-FGSM accuracy; export-torch writes a saved model as a state_dict", async () => {
  const file = path.join(DIR, 'cnn-fc-fmnist.pt');
  const args = [
    'eval',
    '--torch-checkpoint',
    file,
    '--arch',
    'cnn-fc',
    '--data',
    'fashion-mnist',
    '--n',
    String(EVAL.n),
    '--eps',
    String(EVAL.eps),
  ];
  const r = spawnSync('node', [CLI, ...args, '--attacks', 'clean,ifgsm20', '--json', '--backend', 'torch'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /loaded .*cnn-fc-fmnist\.pt as cnn-fc \(piat names, 26 weights/);
  const rows = JSON.parse(r.stdout).rows as { attack: string; accuracy: number }[];
  assert.ok(Math.abs(rows[0].accuracy - EVAL.clean) <= 1 / EVAL.n + 1e-9);
  assert.ok(Math.abs(rows[1].accuracy - EVAL.ifgsm20) <= 1 / EVAL.n + 1e-9);
  const noArch = spawnSync('node', [CLI, 'eval', '--torch-checkpoint', file, '--data', 'fashion-mnist'], { encoding: 'utf8' });
  assert.equal(noArch.status, 2);
  assert.match(noArch.stderr, /--torch-checkpoint needs --arch/);

  // a model saved in tfjs's format → a PyTorch state_dict with the same weights
  const dir = tmpDir();
  const { model } = buildFromTorchCheckpoint(file, 'cnn-fc', { numClasses: 10, inputShape: [28, 28, 1], seed: 1 });
  await saveModel(model, path.join(dir, 'saved'));
  const out = path.join(dir, 'model.safetensors');
  const e = spawnSync('node', [CLI, 'export-torch', '--checkpoint', path.join(dir, 'saved'), '--to', out, '--backend', 'torch'], {
    encoding: 'utf8',
  });
  assert.equal(e.status, 0, e.stderr);
  const theirs = readStateDict(file);
  const ours = readStateDict(out);
  for (const [k, t] of ours) assert.deepEqual(Buffer.from(t.bytes), Buffer.from(theirs.get(k)!.bytes), k);
  assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].filter((k) => !k.endsWith('num_batches_tracked')).sort());
  model.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('every registered architecture has a PyTorch naming to read and write', () => {
  for (const arch of ARCHS) assert.ok(DIALECTS[arch]?.length, `no PyTorch dialect for ${arch} (src/models/pytorch/dialects.ts)`);
});
