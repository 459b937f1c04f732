/**
 * `piat results --verify` (src/experiments/verify-results.ts): a committed run re-trained for its first
 * epochs gives its records bit for bit, a changed number is named, and the README's line and the
 * docs' table say from results/verification.json which runs regenerate.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { setup, tmpDir, withEnv } from '../helpers';
import { cli } from '../run-safety-helpers';
import { backendInfo, setComputeThreads } from '../../src/backend';
import * as os from 'os';
import {
  firstDifference,
  recordsChecksum,
  runMatches,
  runsToVerify,
  verificationSection,
  verifyRun,
  VERIFICATION_FILE,
} from '../../src/experiments/verify-results';
import { fig1Config } from '../../src/experiments/fig1';
import { poolData, trainPool, PoolConfig } from '../../src/experiments/pool';
import { runDirName } from '../../src/experiments/compare-methods';
import { publishedRuns, resultDirOf } from '../../src/experiments/published-runs';

/** The temporary folders verifyRun trains in. */
const verifyFolders = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('piat-verify-'));

test('firstDifference names the first differing field, in key order, with both values', () => {
  assert.equal(firstDifference({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }), undefined);
  assert.equal(
    firstDifference({ loss: { total: 1.5, ce: 2 } }, { loss: { total: 1.25, ce: 2 } }),
    'loss.total: 1.5 committed, 1.25 re-trained',
  );
  assert.equal(firstDifference({ x: 1 }, { x: 1, y: null }), 'y: undefined committed, null re-trained');
  assert.equal(firstDifference([1, 2], [1, 3]), '1: 2 committed, 3 re-trained');
  // NaN equals NaN; 0 and −0 differ (bit for bit)
  assert.equal(firstDifference({ v: NaN }, { v: NaN }), undefined);
  assert.match(firstDifference({ v: 0 }, { v: -0 }) ?? '', /^v: /);
});

test('--runs matches whole folder names', () => {
  const rel = 'pool/overfit/fashion-mnist-cnn-fc/seed-1/piat-nmse';
  assert.ok(runMatches(rel, 'seed-1/piat-nmse'));
  assert.ok(runMatches(rel, 'seed-1'));
  assert.ok(runMatches(rel, '/piat-nmse/'));
  assert.ok(!runMatches(rel, 'seed-1/piat'), "PIAT's folder is not PIAT+NMSE's");
  assert.ok(!runMatches(rel, 'nmse'));
  assert.ok(!runMatches('pool/overfit/fashion-mnist-cnn-fc/seed-10/pgd-at', 'seed-1'));
});

test('a committed run re-trained for its first epoch regenerates bit for bit; a changed loss or setting is named', async () => {
  await setup();
  // a small stand-in for a published run: the overfit pool's settings on fewer images
  const config: PoolConfig = {
    ...fig1Config('overfit'),
    trainSize: 40,
    testSize: 20,
    validationSize: 20,
    trainEvalSize: 20,
    batchSize: 20,
  };
  const entry = { runDir: '', config, method: { name: 'PGD-AT' }, label: 'PGD-AT' };
  const committedRoot = tmpDir('piat-committed-');
  const [two] = await trainPool('overfit', config, [entry.method], {
    root: tmpDir('piat-committed-'),
    data: poolData(config),
    stopAfterEpochs: 2,
    progress: false,
  });
  assert.deepEqual(
    two.records.map((r) => r.epoch),
    [1, 2],
    'stopAfterEpochs: 2 stops once the second epoch is saved',
  );
  await trainPool('overfit', config, [entry.method], { root: committedRoot, data: poolData(config), stopAfterEpochs: 1, progress: false });
  const resultDir = path.join(committedRoot, runDirName('PGD-AT'));
  fs.writeFileSync(path.join(resultDir, 'done.json'), '{}');
  const tmpBefore = verifyFolders();
  const v = await withEnv({ PIAT_SWEEP: 'workers' }, async () => {
    const x = await verifyRun({ ...entry, resultDir }, { epochs: 2, resultsDir: committedRoot, progress: false });
    assert.equal(process.env.PIAT_SWEEP, 'workers', 'the sweep mode is given back');
    return x;
  });
  assert.deepEqual(verifyFolders(), tmpBefore, 'the re-trained run folder is removed');
  assert.equal(v.identical, true, v.difference);
  assert.equal(v.epochs, 1, 'no more epochs than the committed run has');
  assert.equal(v.run, 'pgd-at');
  assert.equal(v.records, recordsChecksum(resultDir));
  // one number changed in the committed records
  const file = path.join(resultDir, 'records.jsonl');
  const r = JSON.parse(fs.readFileSync(file, 'utf8').trim());
  r.loss.total += 1e-9;
  fs.writeFileSync(file, JSON.stringify(r) + '\n');
  const changed = await verifyRun({ ...entry, resultDir }, { epochs: 1, resultsDir: committedRoot, progress: false });
  assert.equal(changed.identical, false);
  assert.match(changed.difference ?? '', /^epoch 1 loss\.total: [\d.]+ committed, [\d.]+ re-trained$/);
  // a process with another ATen thread count re-trains with the run's, and gets its own back
  const threads = backendInfo().torch?.threads;
  if (threads !== undefined) {
    setComputeThreads(threads + 1);
    const other = await verifyRun({ ...entry, resultDir }, { epochs: 1, resultsDir: committedRoot, progress: false });
    assert.equal(backendInfo().torch?.threads, threads + 1, 'the thread count is set back');
    setComputeThreads(threads);
    assert.equal(other.identical, false, 'the changed loss is still found');
    assert.match(
      other.difference ?? '',
      /^epoch 1 loss\.total/,
      'only the changed loss differs: the rest regenerates with the recorded threads',
    );
  }
  // other settings than the committed run's
  const other = await verifyRun({ ...entry, config: { ...config, lr: 0.04 }, resultDir }, { epochs: 1, progress: false });
  assert.match(other.difference ?? '', /^settings differ \(train\.optimizer\.lr: 0\.05 committed, 0\.04 re-trained\)$/);
});

test("the README's line and the docs' table come from results/verification.json; a run collected again since its check counts as not checked", () => {
  const root = tmpDir('piat-verify-results-');
  const [a, b, c] = publishedRuns()
    .filter((r) => !r.setting)
    .slice(0, 3)
    .map((r) => ({ r, dir: resultDirOf(r.runDir, root) }));
  for (const { dir } of [a, b, c]) {
    fs.mkdirSync(dir, { recursive: true });
    for (const f of ['done.json', 'config.json']) fs.writeFileSync(path.join(dir, f), '{}');
    fs.writeFileSync(path.join(dir, 'records.jsonl'), `{"epoch":1,"dir":"${path.basename(dir)}"}\n`);
  }
  assert.match(verificationSection(root).lines[0], /None of the 3 committed runs has been re-trained to check/);
  const entry = (x: typeof a, identical: boolean) => ({
    run: path.relative(root, x.dir),
    method: x.r.label,
    seed: x.r.config.seed,
    epochs: 2,
    identical,
    ...(identical ? {} : { difference: 'epoch 1 loss.total: 1 committed, 2 re-trained' }),
    records: recordsChecksum(x.dir),
    source: { commit: 'abcdef0123456789', modified: false },
    checkedAt: '2026-12-07T12:00:00.000Z',
  });
  fs.writeFileSync(path.join(root, VERIFICATION_FILE), JSON.stringify([entry(a, true), entry(b, false), entry(c, true)]));
  // c collected again after its check
  fs.appendFileSync(path.join(c.dir, 'records.jsonl'), '{"epoch":2}\n');
  const s = verificationSection(root);
  assert.equal(
    s.lines[0],
    `- Do the committed runs regenerate? Re-training their first 2 epochs (\`node dist/src/cli.js results --verify\`, at abcdef0): 1 of 2 checked give the committed records bit for bit; 1 does not (${b.r.label} seed 1); 1 not checked (${c.r.label} seed 1).`,
  );
  assert.ok(
    s.doc.includes(`| ${path.relative(root, b.dir)} | 2 | **no** | epoch 1 loss.total: 1 committed, 2 re-trained | abcdef0 | 2026-12-07 |`),
  );
  assert.ok(s.doc.includes(`| ${path.relative(root, c.dir)} | | not checked | | | |`));
  // --unchecked: only c, whose check is stale
  assert.deepEqual(
    runsToVerify({ resultsDir: root, unchecked: true }).map((r) => r.resultDir),
    [c.dir],
  );
  assert.equal(runsToVerify({ resultsDir: root }).length, 3);
});

test('results: --epochs and --runs go with --verify, and --verify does not go with --check; a --runs that matches nothing says so', () => {
  const epochs = cli(['results', '--epochs', '3']);
  assert.equal(epochs.status, 2, epochs.stderr);
  assert.match(epochs.stderr, /--epochs, --runs and --unchecked go with --verify/);
  const both = cli(['results', '--verify', '--check']);
  assert.equal(both.status, 2, both.stderr);
  assert.match(both.stderr, /--verify changes results\/, --check only compares/);
  const none = cli(['results', '--verify', '--runs', 'seed-99/no-such-method'], { PIAT_THREADS: '1' });
  assert.equal(none.status, 2, none.stderr);
  assert.match(none.stderr, /no committed run under .*results has the folders 'seed-99\/no-such-method' in its path/);
  const zero = cli(['results', '--verify', '--epochs', '0']);
  assert.equal(zero.status, 2, zero.stderr);
  assert.match(zero.stderr, /--epochs/);
});
