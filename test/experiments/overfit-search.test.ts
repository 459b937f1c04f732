/** The overfitting search's bookkeeping (notebook 11, `piat overfit-search`): which runs exist, and re-opening only the finished ones. */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import {
  runOverfitSearch,
  searchModeFromEnv,
  searchRunDir,
  searchRunState,
  unfinishedNote,
  unfinishedSearchRuns,
} from '../../src/experiments/overfit-search';
import { PiatError } from '../../src/util/errors';
import { setup, tmpDir, withEnv } from '../helpers';
import { cli } from '../run-safety-helpers';

before(setup);

test(
  'a finished-only search re-opens the finished runs, trains nothing, and lists what it left out',
  { timeout: 5 * 60_000 },
  async (t) => {
    if (!fs.existsSync('/usr/share/datasets/fashion-mnist'))
      return t.skip('dataset-fashion-mnist is not installed (scripts/setup.sh installs it)');
    const [a, b] = ['cnnfc-n500-b50-e120-every10-wd0', 'cnnfc-n500-b50-e120-every10-eps0.2'];
    await withEnv({ PIAT_RUNS: tmpDir() }, async () => {
      assert.equal(searchRunState('smoke', a, 1), 'not started');
      const [trained] = await runOverfitSearch('smoke', { settings: [a], seeds: [1], progress: false });
      assert.equal(trained.run.runDir, searchRunDir('smoke', a, 1));
      assert.equal(searchRunState('smoke', a, 1), 'finished');

      const shown = await runOverfitSearch('smoke', { settings: [a, b], seeds: [1, 2], progress: false, finishedOnly: true });
      assert.deepEqual(
        shown.map((r) => [r.setting, r.seed]),
        [[a, 1]],
      );
      assert.deepEqual(shown[0].run.records, trained.run.records, 'the same records, re-opened');
      for (const [s, seed] of [
        [a, 2],
        [b, 1],
        [b, 2],
      ] as const)
        assert.ok(!fs.existsSync(searchRunDir('smoke', s, seed)), `${s} seed ${seed}: nothing trained`);

      // a run stopped part-way (records, no done.json) counts as part-trained, not finished
      fs.mkdirSync(searchRunDir('smoke', b, 1), { recursive: true });
      fs.writeFileSync(path.join(searchRunDir('smoke', b, 1), 'records.jsonl'), '');
      const left = unfinishedSearchRuns('smoke', [a, b], [1, 2]);
      assert.deepEqual(left, [
        { setting: a, seed: 2, state: 'not started' },
        { setting: b, seed: 1, state: 'partial' },
        { setting: b, seed: 2, state: 'not started' },
      ]);
      assert.match(unfinishedNote('smoke', left), new RegExp(`${b} seed 1 \\(part-trained\\), 2`));
      assert.match(unfinishedNote('smoke', []), /Every setting and seed asked for has finished/);

      // the CLI: the same verdicts, the figure, the runs left out; nothing trained
      const svg = path.join(tmpDir(), 'search.svg');
      const r = cli(['overfit-search', '--profile', 'smoke', '--finished', '--settings', `${a},${b}`, '--seeds', '1,2', '--svg', svg], {
        PIAT_RUNS: process.env.PIAT_RUNS,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`\\*\\*${a}\\*\\*: meets the criterion in [01] of 1 seed`));
      assert.match(r.stdout, /Not shown \(not finished, nothing was trained\)/);
      assert.match(fs.readFileSync(svg, 'utf8'), /^<svg[\s\S]*robust, test · seed 1[\s\S]*<\/svg>$/);
      assert.ok(!fs.existsSync(searchRunDir('smoke', a, 2)), 'the CLI trained nothing');
      const bad = cli(['overfit-search', '--profile', 'smoke', '--finished', '--svg'], { PIAT_RUNS: process.env.PIAT_RUNS });
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /--svg takes the file to write/);
    });
  },
);

test('PIAT_SEARCH: train by default, finished on request, anything else named', () => {
  assert.equal(searchModeFromEnv({}), 'train');
  assert.equal(searchModeFromEnv({ PIAT_SEARCH: 'finished' }), 'finished');
  assert.throws(
    () => searchModeFromEnv({ PIAT_SEARCH: 'cached' }),
    (e) => e instanceof PiatError && /Unknown PIAT_SEARCH 'cached'. Expected one of: train, finished/.test(e.message),
  );
  assert.throws(() => searchRunDir('smoke', 'no-such-setting', 1), /Unknown search setting 'no-such-setting'/);
});
