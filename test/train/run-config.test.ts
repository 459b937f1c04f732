import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { validateRunConfig, expandGrid, withOverrides, parseShard, buildRun } from '../../src/train/run-config';
import { PiatError } from '../../src/util/errors';
import { REPO_ROOT, setup, tmpDir } from '../helpers';

before(setup);

const base = {
  dataset: 'two-circles',
  trainSize: 80,
  testSize: 40,
  model: { arch: 'mlp', hidden: [8] },
  objective: { name: 'pgd-at', attack: { eps: 0.03, alpha: 0.01, steps: 2 } },
  train: { epochs: 1, batchSize: 40, seed: 1, optimizer: { lr: 0.1 }, eval: { n: 40, attack: { eps: 0.03, alpha: 0.01, steps: 2 } } },
  runDir: 'x',
};

test('run configs: every bad field is named', () => {
  validateRunConfig(base);
  const bad = (override: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => validateRunConfig(withOverrides(base, override)),
      (e: unknown) => e instanceof PiatError && e.code === 'bad-config' && re.test(e.message),
      JSON.stringify(override),
    );
  bad({ dataset: 'cifar11' }, /config\.dataset: 'cifar11' is not a dataset; did you mean cifar10\?/);
  bad({ 'model.arch': 'resnet50' }, /config\.model\.arch: 'resnet50' is not an architecture/);
  bad({ 'objective.name': 'tradse' }, /config\.objective\.name: 'tradse' is not an objective; did you mean trades\?/);
  bad({ 'objective.lamda': 2 }, /config\.objective\.lamda: unknown field/);
  bad({ 'train.epochs': 0 }, /config\.train\.epochs must be a whole number >= 1/);
  bad({ 'train.optimizer.lr': -1 }, /optimizer\.lr must be a positive number/);
  bad({ 'train.epoch': 3 }, /config\.train\.epoch: unknown field; did you mean epochs\?/);
  bad({ trainSize: 1.5 }, /config\.trainSize must be a whole number >= 1, got 1\.5/);
  bad({ colour: 'red' }, /config\.colour: unknown field/);
  assert.throws(() => validateRunConfig([]), /must be a JSON object/);
});

test('run configs: CFA with FAWA holds out its validation tail; RAT builds; bad averaging is named', () => {
  const c = buildRun(
    withOverrides(base, {
      objective: { name: 'cfa', beginEpoch: 1, attack: base.objective.attack },
      averaging: { kind: 'fawa', validationSize: 20 },
    }),
  );
  assert.equal(c.objective.name, 'cfa-trades');
  assert.equal(c.train.size, 60, 'training set loses its validation tail');
  assert.deepEqual(
    c.hooks.map((h) => h.name),
    ['fawa'],
  );
  assert.equal(buildRun(withOverrides(base, { objective: { name: 'rat', alpha: 0.1 } })).objective.name, 'rat');
  const bad = (override: Record<string, unknown>, re: RegExp) => assert.throws(() => buildRun(withOverrides(base, override)), re);
  bad({ averaging: { kind: 'fawa' } }, /config\.averaging\.validationSize: FAWA needs a held-out validation size/);
  bad({ averaging: { kind: 'fawa', validationSize: 80 } }, /leaves no training examples/);
  bad({ averaging: { kind: 'emma' } }, /config\.averaging\.kind: 'emma' is not a kind of averaging; did you mean ema\?/);
  bad({ objective: { name: 'rat', alpha: 'x' } }, /config\.objective\.alpha must be a number >= 0, got "x" \(a string\)/);
  [c.model].forEach((m) => m.dispose());
});

test('sweep grids: cartesian product, dotted overrides, shards partition the points', () => {
  const pts = expandGrid(['objective.lambda=1,2,4', 'piat.warmupEpochs=0,5']);
  assert.equal(pts.length, 6);
  assert.deepEqual(pts[0], { 'objective.lambda': 1, 'piat.warmupEpochs': 0 });
  const cfg = withOverrides(base, pts[5]) as typeof base & { piat: { warmupEpochs: number }; objective: { lambda: number } };
  assert.equal(cfg.objective.lambda, 4);
  assert.equal(cfg.piat.warmupEpochs, 5);
  assert.equal(base.objective.name, 'pgd-at', 'the base is not modified');
  assert.deepEqual(parseShard('1/3'), { index: 1, count: 3 });
  assert.throws(() => parseShard('3/3'), /0 <= i < n/);
  assert.throws(() => expandGrid(['nonsense']), /expected key\.path=v1,v2/);
});

test('piat sweep runs its shard of the grid, one run directory per point', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'run.json');
  fs.writeFileSync(file, JSON.stringify({ ...base, runDir: path.join(dir, 'sweep') }));
  const cli = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');
  const r = spawnSync(process.execPath, [cli, 'sweep', '--config', file, '--grid', 'train.seed=1,2,3', '--shard', '1/2'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const runs = fs.readdirSync(path.join(dir, 'sweep')).sort();
  assert.deepEqual(runs, ['train.seed=2']);
  assert.ok(fs.existsSync(path.join(dir, 'sweep', 'train.seed=2', 'done.json')));
  const bad = spawnSync(process.execPath, [cli, 'train', '--config', path.join(dir, 'missing.json')], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /config file .*missing\.json does not exist/);
});
