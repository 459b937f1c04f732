/**
 * A write the OS refuses — disk full (ENOSPC), permission denied (EACCES), a read-only file system
 * (EROFS), a folder gone (ENOENT) — ends train() with one PiatError('write-failed') naming the run
 * folder, what was being written, the reason and the checkpoint that is kept; that checkpoint
 * loads, and resuming from it trains on to the records of an uninterrupted run. The CLI prints the
 * error as one line, without a stack.
 *
 * Tests run as root here, where chmod stops nothing: the faults are injected by wrapping the fs
 * functions that writeFileAtomic and the checkpoint's rotation call, for one run at a time.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import fs = require('fs'); // the module object itself: a wrapped function is what every importer calls
import { mlp } from '../../src/models/mlp';
import { pgdAt } from '../../src/objectives/pgd-at';
import { piat } from '../../src/piat/hook';
import { ema } from '../../src/averaging/weight-averaging';
import { train, TrainResult } from '../../src/train/trainer';
import { loadCheckpoint, savedCheckpoint } from '../../src/train/checkpoint';
import { PiatError } from '../../src/util/errors';
import { setup, tmpDir, toyTraining } from '../helpers';
import { CLI, strip, tinyConfig, writeJson } from '../run-safety-helpers';

before(setup);

const { data, test: test_, attack, config } = toyTraining(3);
const newModel = () => mlp({ inputDim: 3, numClasses: 2, hidden: [16], batchNorm: true, seed: 2 });

/** Trains the run in `dir` (PIAT and EMA: hooks with state, averaged weights in the checkpoint); returns its result and final weights. */
async function run(dir: string): Promise<{ r: TrainResult; weights: number[][] }> {
  const model = newModel();
  try {
    const r = await train({
      model,
      objective: pgdAt({ attack }),
      hooks: [piat(), ema(0.9)],
      train: data,
      test: test_,
      config,
      runDir: dir,
      progress: false,
    });
    return { r, weights: model.getWeights().map((t) => Array.from(t.dataSync())) };
  } finally {
    model.dispose();
  }
}

const DESCRIPTIONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EACCES: 'permission denied',
  EROFS: 'read-only file system',
  ENOENT: 'no such file or directory',
};

interface Fault {
  /** the system call that fails: creating a file, writing into it, or renaming it */
  op: 'open' | 'write' | 'rename';
  code: keyof typeof DESCRIPTIONS;
  /** which files it fails on (the temporary file's path for open and write, the source for rename) */
  on: RegExp;
  /** the nth such call fails (1 = the first) */
  nth: number;
}

/** Makes one call of fs fail as the OS would (code, syscall, path), while `f` runs. */
async function withFault<T>(fault: Fault, f: () => Promise<T>): Promise<{ value?: T; error?: unknown; fired: boolean }> {
  const real = { openSync: fs.openSync, writeSync: fs.writeSync, renameSync: fs.renameSync };
  const fdFile = new Map<number, string>();
  let seen = 0;
  let fired = false;
  const maybeFail = (op: Fault['op'], file: string) => {
    if (op !== fault.op || !fault.on.test(file) || ++seen !== fault.nth) return;
    fired = true;
    throw Object.assign(new Error(`${fault.code}: ${DESCRIPTIONS[fault.code]}, ${op} '${file}'`), {
      errno: -1,
      code: fault.code,
      syscall: op,
      path: file,
    });
  };
  const patched = fs as unknown as Record<string, unknown>;
  patched.openSync = (file: fs.PathLike, ...rest: unknown[]) => {
    maybeFail('open', String(file));
    const fd = (real.openSync as (...a: unknown[]) => number)(file, ...rest);
    fdFile.set(fd, String(file));
    return fd;
  };
  patched.writeSync = (fd: number, ...rest: unknown[]) => {
    if (fdFile.has(fd)) maybeFail('write', fdFile.get(fd) as string);
    return (real.writeSync as (...a: unknown[]) => number)(fd, ...rest);
  };
  patched.renameSync = (from: fs.PathLike, to: fs.PathLike) => {
    maybeFail('rename', String(from));
    return real.renameSync(from, to);
  };
  try {
    return { value: await f(), fired };
  } catch (error) {
    return { error, fired };
  } finally {
    Object.assign(patched, real);
  }
}

/** Every file under `dir`, relative. */
function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

let reference: { r: TrainResult; weights: number[][] } | undefined;
async function uninterrupted() {
  reference ??= await run(tmpDir());
  return reference;
}

const cases: { name: string; fault: Fault; what: RegExp; reason: RegExp; kept: number | null; keptIn?: string }[] = [
  {
    name: 'the disk fills up while the checkpoint of epoch 2 is written',
    fault: { op: 'write', code: 'ENOSPC', on: /checkpoint\.tmp[\\/]state\.json/, nth: 2 },
    what: /saving the checkpoint of epoch 2 failed/,
    reason: /no space left on the device \(ENOSPC, /,
    kept: 1,
    keptIn: 'checkpoint',
  },
  {
    name: 'permission is denied when the new checkpoint of epoch 3 is renamed into place (after the rotation)',
    fault: { op: 'rename', code: 'EACCES', on: /checkpoint\.tmp$/, nth: 3 },
    what: /saving the checkpoint of epoch 3 failed/,
    reason: /permission denied \(EACCES, /,
    kept: 2,
    keptIn: 'checkpoint.old',
  },
  {
    name: 'the file system turns read-only before the records of epoch 2 are written',
    fault: { op: 'open', code: 'EROFS', on: /records\.jsonl\.tmp-/, nth: 2 },
    what: /writing records\.jsonl failed/,
    reason: /the file system is read-only \(EROFS, /,
    kept: 1,
    keptIn: 'checkpoint',
  },
  {
    name: 'a folder vanishes while the first Best weights are written (no checkpoint yet)',
    fault: { op: 'open', code: 'ENOENT', on: /[\\/]best[\\/]weights\.bin\.tmp-/, nth: 1 },
    what: /saving the Best weights of epoch 1 \(best\/\) failed/,
    reason: /a folder on the way no longer exists \(ENOENT, /,
    kept: null,
  },
  {
    name: 'the disk fills up as done.json is written after the last epoch',
    fault: { op: 'write', code: 'ENOSPC', on: /done\.json\.tmp-/, nth: 1 },
    what: /writing done\.json failed/,
    reason: /no space left on the device \(ENOSPC, /,
    kept: 3,
    keptIn: 'checkpoint',
  },
];

for (const c of cases) {
  test(`${c.name}: one named error, the last good checkpoint kept, and resuming gives the uninterrupted records`, async () => {
    const want = await uninterrupted();
    const dir = tmpDir();
    const before = tf.memory().numTensors;
    const { error, fired } = await withFault(c.fault, () => run(dir));
    assert.ok(fired, 'the fault was injected');
    assert.ok(error instanceof PiatError && error.code === 'write-failed', `expected PiatError('write-failed'), got ${error}`);
    const msg = error.message;
    assert.ok(msg.startsWith(`${dir}: `), `names the run folder: ${msg}`);
    assert.match(msg, c.what);
    assert.match(msg, c.reason);
    assert.ok(!msg.includes('\n'), `one line: ${msg}`);
    assert.equal(tf.memory().numTensors, before, 'the failed run left tensors behind');
    // no half-written temporary file or checkpoint is left taking space
    assert.deepEqual(
      filesUnder(dir).filter((f) => /\.tmp-\d+$/.test(f)),
      [],
    );
    if (c.kept === null) {
      assert.match(msg, new RegExp(`No checkpoint had been saved in ${dir} yet`));
      assert.equal(savedCheckpoint(dir), null);
    } else {
      const keptDir = path.join(dir, c.keptIn as string);
      assert.ok(msg.includes(`The last good checkpoint, of epoch ${c.kept} (${keptDir}), is kept`), msg);
      assert.ok(!fs.existsSync(path.join(dir, 'checkpoint.tmp')) || c.fault.op === 'rename', 'the half-written checkpoint is removed');
      // the kept checkpoint loads, whole
      const probe = newModel();
      try {
        const cp = await loadCheckpoint(dir, probe);
        assert.ok(cp);
        assert.equal(cp.state.epoch, c.kept);
        assert.equal(cp.dir, keptDir);
        assert.deepEqual(cp.warnings, []);
        tf.dispose(cp.velocity ?? []);
      } finally {
        probe.dispose();
      }
    }
    const resumed = await run(dir);
    assert.deepEqual(strip(resumed.r.records), strip(want.r.records));
    assert.deepEqual(resumed.r.best, want.r.best);
    assert.deepEqual(resumed.weights, want.weights);
    assert.equal(fs.readFileSync(path.join(dir, 'records.jsonl'), 'utf8').trim().split('\n').length, config.epochs);
    assert.ok(fs.existsSync(path.join(dir, 'done.json')));
  });
}

test('the CLI prints a refused write as one line, without a stack, and exits with 2', () => {
  const dir = tmpDir();
  const runDir = path.join(dir, 'run');
  const attack1 = { eps: 0.1, alpha: 0.05, steps: 1 };
  const cfg = writeJson(
    path.join(dir, 'run.json'),
    tinyConfig(runDir, { train: { epochs: 2, batchSize: 12, seed: 3, optimizer: { lr: 0.05 }, eval: { n: 12, attack: attack1 } } }),
  );
  // the disk fills up as the records of epoch 2 are written, in the CLI's own process
  const inject = path.join(dir, 'enospc.js');
  fs.writeFileSync(
    inject,
    `const fs = require('fs');
const open = fs.openSync, write = fs.writeSync, files = new Map();
let n = 0;
fs.openSync = (f, ...a) => { const fd = open(f, ...a); files.set(fd, String(f)); return fd; };
fs.writeSync = (fd, ...a) => {
  const f = files.get(fd);
  if (f && /records\\.jsonl\\.tmp-/.test(f) && ++n === 2)
    throw Object.assign(new Error("ENOSPC: no space left on device, write '" + f + "'"), { errno: -28, code: 'ENOSPC', syscall: 'write', path: f });
  return write(fd, ...a);
};
`,
  );
  const r = spawnSync(process.execPath, ['--require', inject, CLI, 'train', '--config', cfg], {
    encoding: 'utf8',
    env: { ...process.env, PIAT_PROGRESS: 'lines' },
    timeout: 120_000,
  });
  assert.equal(r.status, 2, `exit status 2 (a PiatError), got ${r.status}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  const last = lines[lines.length - 1];
  assert.match(
    last,
    new RegExp(
      `^piat: ${runDir}: writing records\\.jsonl failed: no space left on the device \\(ENOSPC, .*\\)\\. The last good checkpoint, of epoch 1 \\(${runDir}/checkpoint\\), is kept: free some space and run again to resume from it\\.$`,
    ),
  );
  assert.ok(!lines.some((l) => /^\s+at /.test(l)), `no stack:\n${r.stderr}`);
  assert.equal(lines.filter((l) => l.startsWith('piat: ')).length, 1, r.stderr);
});
