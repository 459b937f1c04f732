/**
 * Issue 15, item 1: a run folder is one run. Resuming it under another dataset, size, model, data
 * folder or setting is refused naming the fields; a second writer is refused by the lock, and a
 * lock left by a dead process is taken over.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { trainFromConfig, withOverrides } from '../../src/train/run-config';
import { PiatError } from '../../src/util/errors';
import { identityMismatch } from '../../src/train/identity';
import { setup, tmpDir } from '../helpers';
import { captureStderr, tinyConfig, writeIdxSet } from '../run-safety-helpers';

before(setup);

const mismatch =
  (...fields: string[]) =>
  (e: unknown) => {
    assert.ok(e instanceof PiatError, String(e));
    assert.equal(e.code, 'config-mismatch', e.message);
    for (const f of fields)
      assert.match(e.message, new RegExp(`^  ${f.replace(/\./g, '\\.')}: `, 'm'), `expected ${f} to be named in:\n${e.message}`);
    return true;
  };

test('a finished run folder refuses another dataset, size, model or setting, naming the fields', async () => {
  const dir = tmpDir();
  const base = tinyConfig(dir);
  await trainFromConfig(base, { progress: false });
  // the reproduction: the same folder with fashion-mnist would have "resumed" on other data
  await assert.rejects(
    trainFromConfig(withOverrides(base, { dataset: 'fashion-mnist' }), { progress: false }),
    mismatch('dataset', 'data.train.name', 'data.test.name'),
  );
  await assert.rejects(
    trainFromConfig(withOverrides(base, { trainSize: 36 }), { progress: false }),
    mismatch('trainSize', 'data.train.size'),
  );
  await assert.rejects(trainFromConfig(withOverrides(base, { testSize: 6 }), { progress: false }), mismatch('testSize', 'data.test.size'));
  await assert.rejects(
    trainFromConfig(withOverrides(base, { 'model.hidden': [16] }), { progress: false }),
    mismatch('model.hidden', 'network.parameters'),
  );
  await assert.rejects(
    trainFromConfig(withOverrides(base, { 'model.seed': 9 }), { progress: false }),
    mismatch('model.seed', 'network.initialWeights'),
  );
  await assert.rejects(
    trainFromConfig(withOverrides(base, { 'train.optimizer.weightDecay': 5e-4 }), { progress: false }),
    mismatch('train.optimizer.weightDecay'),
  );
  await assert.rejects(
    trainFromConfig(withOverrides(base, { 'objective.attack.steps': 2 }), { progress: false }),
    mismatch('objective.attack.steps'),
  );
  await assert.rejects(trainFromConfig(withOverrides(base, { piat: {} }), { progress: false }), mismatch('hooks.piat.warmupEpochs'));
  // the same configuration, with defaults written out, is the same run: it is found finished
  const same = await trainFromConfig(
    withOverrides(base, { 'train.optimizer.momentum': 0.9, 'model.seed': 3, 'objective.attack.randomStart': true }),
    { progress: false },
  );
  assert.equal(same.records.length, 1);
});

test('a run folder refuses another data folder (dataDir), whose files differ', async () => {
  const a = tmpDir();
  const b = tmpDir();
  for (const d of [a, b]) {
    writeIdxSet(d, 'train', 20, { labelShift: d === b ? 1 : 0 });
    writeIdxSet(d, 't10k', 10);
  }
  const dir = tmpDir();
  const base = tinyConfig(dir, {
    dataDir: a,
    trainSize: 20,
    testSize: 10,
    train: { ...(tinyConfig(dir).train as object), batchSize: 10, eval: { n: 10 } },
  });
  const r = await trainFromConfig(base, { progress: false });
  assert.equal(r.records.length, 1);
  await assert.rejects(trainFromConfig({ ...base, dataDir: b }, { progress: false }), mismatch('dataDir', 'data.train.sha256'));
});

test('an unfinished run resumed on another backend is refused; a finished one is reused', async () => {
  const dir = tmpDir();
  const cfg = withOverrides(tinyConfig(dir), { 'train.epochs': 2 });
  await trainFromConfig(cfg, { progress: false, shouldStop: () => true });
  // pretend the saved epoch ran on another backend
  const stateFile = path.join(dir, 'checkpoint', 'state.json');
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  const now = state.identity.backend;
  state.identity.backend = now === 'wasm' ? 'cpu' : 'wasm';
  fs.writeFileSync(stateFile, JSON.stringify(state));
  await assert.rejects(trainFromConfig(cfg, { progress: false }), (e: unknown) => {
    mismatch('backend')(e);
    assert.match(
      (e as Error).message,
      new RegExp(`backend: "${state.identity.backend}" in the folder, "${now}" now[\\s\\S]*PIAT_BACKEND=${state.identity.backend}`),
    );
    return true;
  });
  // finished on the other backend: nothing is computed any more, so its results are reused
  const fin = tmpDir();
  const finCfg = tinyConfig(fin);
  await trainFromConfig(finCfg, { progress: false });
  const finState = path.join(fin, 'checkpoint', 'state.json');
  const s = JSON.parse(fs.readFileSync(finState, 'utf8'));
  s.identity.backend = state.identity.backend;
  fs.writeFileSync(finState, JSON.stringify(s));
  assert.equal((await trainFromConfig(finCfg, { progress: false })).records.length, 1);
});

test("a refusal between the torch backend's paths names the settings that resume the folder's own", () => {
  const fusedFolder = identityMismatch('/runs/a', [{ field: 'backend', was: '"torch (fused)"', now: '"torch"' }]);
  assert.match(fusedFolder.message, /set PIAT_BACKEND=torch \(or --backend\) and PIAT_FUSED_MODEL=1 with PIAT_DEVICE_RANDOM unset,/);
  const hostDraws = identityMismatch('/runs/a', [{ field: 'backend', was: '"torch (fused, host random starts)"', now: '"torch"' }]);
  assert.match(hostDraws.message, /PIAT_FUSED_MODEL=1 PIAT_DEVICE_RANDOM=0,/);
  const perLayer = identityMismatch('/runs/a', [{ field: 'backend', was: '"torch"', now: '"torch (fused)"' }]);
  assert.match(perLayer.message, /set PIAT_BACKEND=torch \(or --backend\) and PIAT_FUSED_MODEL unset,/);
  const wasm = identityMismatch('/runs/a', [{ field: 'backend', was: '"wasm"', now: '"torch"' }]);
  assert.match(wasm.message, /set PIAT_BACKEND=wasm \(or --backend\), or/);
});

test('a second writer is refused while the first runs; a lock left by a dead process is taken over', async () => {
  const dir = tmpDir();
  const cfg = tinyConfig(dir);
  // two trainings of one folder in one process: the second finds the first's lock
  const first = trainFromConfig(cfg, { progress: false });
  await assert.rejects(
    trainFromConfig(cfg, { progress: false }),
    (e: unknown) => e instanceof PiatError && e.code === 'run-locked' && e.message.includes(`process ${process.pid}`),
  );
  await first;
  assert.ok(!fs.existsSync(path.join(dir, 'run.lock')), 'the lock is released when training ends');

  // a lock held by another live process on this host
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const lock = { pid: holder.pid, host: os.hostname(), startedAt: new Date().toISOString(), command: 'node train' };
    fs.writeFileSync(path.join(dir, 'run.lock'), JSON.stringify(lock));
    await assert.rejects(
      trainFromConfig(cfg, { progress: false }),
      (e: unknown) => e instanceof PiatError && e.code === 'run-locked' && e.message.includes(`in use by process ${holder.pid}`),
    );
  } finally {
    holder.kill('SIGKILL');
  }
  await new Promise((resolve) => holder.once('exit', resolve));
  // now its pid is dead: the lock is stale and taken over
  const { value, err } = await captureStderr(() => trainFromConfig(cfg, { progress: false }));
  assert.equal(value.records.length, 1);
  assert.match(err, /run\.lock was left by process \d+, which is no longer running; taking it over/);
  assert.ok(!fs.existsSync(path.join(dir, 'run.lock')));

  // a lock from another host cannot be checked from here: refused, with how to clear it
  fs.writeFileSync(path.join(dir, 'run.lock'), JSON.stringify({ pid: 1, host: 'elsewhere', startedAt: 'then', command: 'x' }));
  await assert.rejects(
    trainFromConfig(cfg, { progress: false }),
    /in use by process 1 on host elsewhere[\s\S]*If that process is gone, delete .*run\.lock/,
  );
});

test('a checkpoint from before identities still resumes under its own config, and names what its config.json records', async () => {
  const { sha256 } = await import('../../src/util/fsx');
  const dir = tmpDir();
  const cfg = withOverrides(tinyConfig(dir), { 'train.epochs': 2 }) as { train: unknown; objective: { attack: unknown } };
  await trainFromConfig(cfg, { progress: false, shouldStop: () => true });
  // what older code wrote: a checksum of the training settings, objective and hooks, no identity
  const stateFile = path.join(dir, 'checkpoint', 'state.json');
  const { identity: _i, ...state } = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  state.configHash = sha256(JSON.stringify({ config: cfg.train, objective: { attack: cfg.objective.attack }, name: 'pgd-at', hooks: [] }));
  fs.writeFileSync(stateFile, JSON.stringify(state));
  await assert.rejects(trainFromConfig(withOverrides(cfg, { trainSize: 36 }), { progress: false }), mismatch('data.trainSize'));
  await assert.rejects(trainFromConfig(withOverrides(cfg, { 'train.seed': 4 }), { progress: false }), /predates per-field records/);
  const r = await trainFromConfig(cfg, { progress: false });
  assert.equal(r.records.length, 2, 'resumed and finished');
  assert.ok(JSON.parse(fs.readFileSync(stateFile, 'utf8')).identity, 'the new checkpoint records the identity');
});
