/** The experiment pool's evaluation cache. */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { mlp } from '../../src/models/mlp';
import { twoCircles } from '../../src/data/toy';
import { saveModel } from '../../src/train/model-io';
import { evaluateRun, FinalEvalConfig, hasPerImage, weightsCacheKey } from '../../src/experiments/pool';
import { perImageAccuracy } from '../../src/eval/per-image';
import { setup, tmpDir } from '../helpers';

before(setup);

const test_ = twoCircles({ perClass: 20, seed: 3 });
const f: FinalEvalConfig = { n: 40, attacks: ['clean', 'pgd20'], eps: 0.05, alpha: 0.0125 };
const model = (seed: number) => mlp({ inputDim: 3, numClasses: 2, hidden: [8], seed });
const evalFiles = (dir: string) => fs.readdirSync(dir).filter((n) => /^eval-.*\.json$/.test(n));
const accuracies = (rows: { attack: string; accuracy: number }[]) => rows.map((r) => [r.attack, r.accuracy]);

async function runDir(bestSeed: number, finalSeed: number): Promise<string> {
  const dir = tmpDir('piat-pool-');
  for (const [sub, seed] of [
    ['best', bestSeed],
    ['checkpoint', finalSeed],
  ] as const) {
    const m = model(seed);
    await saveModel(m, path.join(dir, sub));
    m.dispose();
  }
  return dir;
}

test('evaluateRun evaluates Best and Final once when they are the same weights, and re-uses the cache', async () => {
  const dir = await runDir(1, 1);
  const run = { method: 'PGD-AT', records: [], runDir: dir, oscillation: {} as never };
  const [best, final] = await evaluateRun(run, test_, f, { progress: false });
  // one evaluation for identical weights, kept under each checkpoint's name (the same key, the same rows)
  const files = evalFiles(dir).sort();
  assert.equal(files.length, 2, `found ${files}`);
  assert.equal(files[0].replace('eval-best-', ''), files[1].replace('eval-final-', ''));
  assert.deepEqual(final.rows, best.rows);
  const again = await evaluateRun(run, test_, f, { progress: false });
  assert.deepEqual(
    again.map((e) => accuracies(e.rows)),
    [accuracies(best.rows), accuracies(final.rows)],
  );
  assert.equal(evalFiles(dir).length, 2);
});

test('evaluateRun evaluates different Best and Final weights separately', async () => {
  const dir = await runDir(1, 2);
  const run = { method: 'PGD-AT', records: [], runDir: dir, oscillation: {} as never };
  await evaluateRun(run, test_, f, { progress: false });
  assert.equal(evalFiles(dir).length, 2);
});

test('evaluateRun keeps per-image correctness in its cache (AutoAttack included) and removes the AutoAttack state file', async () => {
  const dir = await runDir(1, 2);
  const run = { method: 'PGD-AT', records: [], runDir: dir, oscillation: {} as never };
  const fa: FinalEvalConfig = {
    ...f,
    n: 24,
    attacks: ['clean', 'pgd20', 'aa'],
    aa: { version: 'custom', attacks: ['apgd-ce'], apgdSteps: 5 },
  };
  const evals = await evaluateRun(run, test_, fa, { progress: false });
  assert.deepEqual(
    evalFiles(dir).filter((n) => n.endsWith('.aa-state.json')),
    [],
    'the AutoAttack state file is removed once its flags are in the row',
  );
  for (const e of evals) {
    assert.ok(hasPerImage(e), `${e.which}: rows without perImage`);
    for (const r of e.rows)
      assert.equal(perImageAccuracy(r.perImage as NonNullable<typeof r.perImage>), r.accuracy, `${e.which} ${r.attack}`);
  }
  const again = await evaluateRun(run, test_, fa, { progress: false });
  assert.deepEqual(again, evals, 'the cache gives back the same rows, per-image data included');
});

test('evaluateRun loads a cache file written before per-image results were kept, without evaluating again', async () => {
  const dir = await runDir(1, 1);
  const run = { method: 'PGD-AT', records: [], runDir: dir, oscillation: {} as never };
  const old = [
    { attack: 'clean', accuracy: 0.123, n: 40, seconds: 1 },
    { attack: 'pgd20', accuracy: 0.045, n: 40, seconds: 2 },
  ];
  const file = path.join(dir, `eval-best-${weightsCacheKey(f, path.join(dir, 'best'))}.json`);
  fs.writeFileSync(file, JSON.stringify(old, null, 2));
  const evals = await evaluateRun(run, test_, f, { progress: false });
  assert.deepEqual(
    evals.map((e) => e.rows),
    [old, old],
    'Best and Final (the same weights) both read the old file',
  );
  assert.deepEqual(evals.map(hasPerImage), [false, false]);
  assert.deepEqual(
    evalFiles(dir).sort(),
    [path.basename(file), path.basename(file).replace('eval-best-', 'eval-final-')],
    'nothing was evaluated again',
  );
});

test("PIAT_SEEDS picks a subset of the profile's seeds to train and report; the run folders stay where the full list puts them", async () => {
  const { poolConfig, poolRoot, reportedSeeds } = await import('../../src/experiments/pool');
  const c = poolConfig('overfit');
  assert.deepEqual(reportedSeeds(c, {}), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(reportedSeeds(c, { PIAT_SEEDS: '1' }), [1]);
  assert.deepEqual(reportedSeeds(c, { PIAT_SEEDS: '3, 1,3' }), [3, 1]);
  assert.throws(() => reportedSeeds(c, { PIAT_SEEDS: '7' }), /PIAT_SEEDS=7: each must be one of this profile's seeds \(1, 2, 3, 4, 5, 6\)/);
  assert.throws(() => reportedSeeds(c, { PIAT_SEEDS: 'x' }), /PIAT_SEEDS=x/);
  assert.match(poolRoot('overfit', { ...c, seed: 1 }), /seed-1$/);
});
