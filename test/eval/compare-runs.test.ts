/**
 * Comparing run folders from their per-image files (src/eval/compare-runs.ts, `piat compare`): the
 * per-epoch records at Best and Final, the final evaluations' eval-*.json, seeds read from
 * config.json, and clear errors for folders that kept no per-image results.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { tmpDir } from '../helpers';
import { cli } from '../run-safety-helpers';
import { compareRuns, runImages } from '../../src/eval/compare-runs';
import { toPerImage } from '../../src/eval/per-image';
import { pairedDifference } from '../../src/stats';
import { Rng } from '../../src/util/rng';

const N = 200;

/** A run folder with three evaluated epochs (Best at epoch 2 on the validation split) and a final pgd20 evaluation. */
function runFolder(root: string, name: string, seed: number, level: number[], rng: Rng): { dir: string; flags: Uint8Array[] } {
  const dir = path.join(root, name, `seed-${seed}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ config: { seed } }));
  const flags = level.map((p) => Uint8Array.from({ length: N }, () => (rng.next() < p ? 1 : 0)));
  const acc = (f: Uint8Array) => f.reduce((s, v) => s + v, 0) / N;
  const records = flags.map((f, e) => ({
    epoch: e + 1,
    lr: 0.1,
    loss: { total: 1 },
    cleanAcc: acc(f),
    robustAcc: acc(f),
    valRobustAcc: e === 1 ? 0.6 : 0.5,
    trainSeconds: 1,
    evalSeconds: 1,
    perImage: { test: { clean: toPerImage(f), robust: toPerImage(f) } },
  }));
  fs.writeFileSync(path.join(dir, 'records.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  for (const which of ['best', 'final'] as const) {
    const f = flags[which === 'best' ? 1 : 2];
    fs.writeFileSync(
      path.join(dir, `eval-${which}-abc-def.json`),
      JSON.stringify([{ attack: 'pgd20', accuracy: acc(f), n: N, seconds: 1, perImage: toPerImage(f) }]),
    );
  }
  return { dir, flags };
}

test('compareRuns pairs run folders by seed and image, at Best or Final, from the records or the final evaluation', () => {
  const root = tmpDir('piat-compare-');
  const rng = new Rng(3);
  const a = [1, 2, 3].map((s) => runFolder(root, 'a', s, [0.4, 0.6, 0.5], rng));
  const b = [3, 1, 2].map((s) => runFolder(root, 'b', s, [0.4, 0.45, 0.45], rng));
  // Best is the epoch the validation split chose (epoch 2), Final the last
  assert.deepEqual(runImages(a[0].dir, { which: 'best' }).flags, a[0].flags[1]);
  assert.equal(runImages(a[0].dir, { which: 'final' }).source, 'epoch 3 (final)');
  const byHand = pairedDifference(
    { seeds: [1, 2, 3], values: a.map((x) => x.flags[1]) },
    { seeds: [3, 1, 2], values: b.map((x) => x.flags[1]) },
  );
  const c = compareRuns(
    a.map((x) => x.dir),
    b.map((x) => x.dir),
    { a: { which: 'best' }, b: { which: 'best' } },
  );
  assert.equal(c.diff, byHand.diff);
  assert.equal(c.halfWidth, byHand.halfWidth);
  assert.equal(c.seedsPaired, true);
  // the final evaluation's file gives the same flags here
  const e = compareRuns(
    a.map((x) => x.dir),
    b.map((x) => x.dir),
    { a: { which: 'best', attack: 'pgd20' }, b: { which: 'best', attack: 'pgd20' } },
  );
  assert.equal(e.diff, byHand.diff);
  // Best against Final of the same runs
  const bf = compareRuns(
    a.map((x) => x.dir),
    a.map((x) => x.dir),
    { a: { which: 'best' }, b: { which: 'final' } },
  );
  assert.ok(bf.diff > 0.05, String(bf.diff));
});

test('compareRuns names what is missing: a folder without config.json, records without per-image results, an attack never evaluated', () => {
  const root = tmpDir('piat-compare-');
  const rng = new Rng(4);
  const { dir } = runFolder(root, 'a', 1, [0.5, 0.5, 0.5], rng);
  assert.throws(() => runImages(root, { which: 'final' }), /not a run folder: no config\.json/);
  assert.throws(() => runImages(dir, { which: 'final', attack: 'aa' }), /no final evaluation of the final weights with 'aa'/);
  const old = path.join(root, 'old');
  fs.mkdirSync(old);
  fs.writeFileSync(path.join(old, 'config.json'), JSON.stringify({ config: { seed: 1 } }));
  fs.writeFileSync(
    path.join(old, 'records.jsonl'),
    JSON.stringify({ epoch: 1, lr: 0.1, loss: {}, cleanAcc: 0.5, robustAcc: 0.4, trainSeconds: 1, evalSeconds: 1 }) + '\n',
  );
  assert.throws(() => runImages(old, { which: 'final' }), /epoch 1's record has no per-image robust results/);
});

test('piat compare prints the paired difference, its interval, the seed and image parts and the verdict', () => {
  const root = tmpDir('piat-compare-');
  const rng = new Rng(5);
  const a = [1, 2, 3].map((s) => runFolder(root, 'a', s, [0.4, 0.7, 0.5], rng).dir).join(',');
  const r = cli(['compare', '--a', a, '--best-vs-final']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /^per-epoch robust accuracy, Best − Final: \+\d+\.\d\d pts \[[+−]\d+\.\d\d, \+\d+\.\d\d\] \(seeds ±\d\.\d\d, images ±\d\.\d\d; 3 paired seeds, 200 images\)$/m,
  );
  assert.match(r.stdout, /^verdict on "Best is higher than Final": (holds|inconclusive)$/m);
  assert.match(
    r.stdout,
    /^standard errors: seeds \d\.\d\d pts, images \d\.\d\d pts; df \d+\.\d; \d+ of 200 images differ between the sides$/m,
  );
  const bad = cli(['compare', '--a', a]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--b names the run folders of side B/);
});
