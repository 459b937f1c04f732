/**
 * Issue 15, item 7: every CLI number option is checked before any work starts (no model load, no
 * clean pass, no training): `--n 0`, `--n abc`, a negative `--eps` are refused naming the option;
 * misspelt options are named; a sweep checks all its points before the first trains.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { saveModel } from '../../src/train/model-io';
import { mlp } from '../../src/models/mlp';
import { setup, tmpDir } from '../helpers';
import { cli, tinyConfig, writeJson } from '../run-safety-helpers';

let checkpoint: string;
before(async () => {
  await setup();
  checkpoint = tmpDir();
  const m = mlp({ inputDim: 784, inputShape: [28, 28, 1], numClasses: 10, hidden: [8], seed: 1 });
  await saveModel(m, checkpoint);
  m.dispose();
});

/** Exit status 2, the message, and no accuracy printed (nothing was evaluated). */
function refused(args: string[], message: RegExp): void {
  const r = cli(args);
  assert.equal(r.status, 2, `${args.join(' ')}: status ${r.status}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, message, args.join(' '));
  assert.doesNotMatch(r.stdout, /%/, `${args.join(' ')}: nothing evaluated`);
}

test('eval: bad numbers are refused before the model or data is loaded', () => {
  const ev = ['eval', '--checkpoint', checkpoint, '--data', 'mnist', '--attacks', 'clean'];
  refused([...ev, '--n', '0'], /piat: --n must be a whole number >= 1, got '0'/);
  refused([...ev, '--n', 'abc'], /--n must be a whole number >= 1, got 'abc'/);
  refused([...ev, '--n', '2.5'], /--n must be a whole number >= 1, got '2\.5'/);
  refused([...ev, '--n'], /--n needs a value/);
  refused([...ev, '--eps', '-0.1'], /--eps must be a number >= 0, got '-0\.1'/);
  refused([...ev, '--eps', 'NaN'], /--eps must be a number >= 0, got 'NaN'/);
  refused([...ev, '--alpha', '0'], /--alpha must be a number > 0, got '0'/);
  refused([...ev, '--epsilon', '0.1'], /eval: unknown option --epsilon; did you mean --eps\?/);
  refused([...ev.slice(0, 5), '--attacks', 'clean,pgd-20'], /Unknown attack 'pgd-20'/);
  refused(['eval', '--checkpoint', path.join(checkpoint, 'nope'), '--data', 'mnist'], /--checkpoint .*nope: no model\.json there/);
  // a good call still works
  const ok = cli([...ev, '--n', '20', '--eps', '0']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /clean\s+\d+\.\d\d%\s+\(n = 20/);
});

test('train and sweep: the config, and every sweep point, are checked before anything trains', () => {
  const dir = tmpDir();
  const bad = writeJson(
    path.join(dir, 'bad.json'),
    tinyConfig(path.join(dir, 'run'), { train: { epochs: 1, batchSize: 12, seed: 3, optimizer: { lr: '0.1' } } }),
  );
  const r = cli(['train', '--config', bad]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /config\.train\.optimizer\.lr must be a positive number, got "0\.1" \(a string\)/);
  assert.ok(!fs.existsSync(path.join(dir, 'run')), 'no run folder was made');

  const good = writeJson(path.join(dir, 'good.json'), tinyConfig(path.join(dir, 'sweep')));
  const s = cli(['sweep', '--config', good, '--grid', 'train.optimizer.lr=0.05,-1']);
  assert.equal(s.status, 2, s.stderr);
  assert.match(s.stderr, /sweep point train\.optimizer\.lr=-1: config\.train\.optimizer\.lr must be a positive number, got -1/);
  assert.ok(!fs.existsSync(path.join(dir, 'sweep')), 'the first point did not train either');
  refused(['train', '--confg', good], /train: unknown option --confg; did you mean --config\?/);
});
