/**
 * docs/registries.md is generated from the registries (src/experiments/registry-docs.ts): the
 * committed page must be exactly what `npm run docs:registries` writes now, and every entry of every
 * registry must have its row.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { REPO_ROOT, tmpDir } from '../helpers';
import {
  README,
  REGISTRIES_COMMAND,
  REGISTRIES_DOC,
  renderRegistries,
  withReadmeNotebooks,
  writeRegistries,
} from '../../src/experiments/registry-docs';
import { notebookNames } from '../../src/experiments/notebook';
import { ARCHS } from '../../src/models/registry';
import { ATTACKS, attackNamePatterns } from '../../src/attacks/registry';
import { OBJECTIVE_IDS, objectiveEntry } from '../../src/objectives/registry';
import { DATASETS } from '../../src/data/images';

/** The first line where two texts differ, for the failure message. */
function firstDifference(a: string, b: string): string {
  const [x, y] = [a.split('\n'), b.split('\n')];
  const i = x.findIndex((line, k) => line !== y[k]);
  const at = i < 0 ? x.length : i;
  return `line ${at + 1}:\n  committed: ${y[at] ?? '(end of file)'}\n  generated: ${x[at] ?? '(end of file)'}`;
}

test(`the README's notebook table is exactly what \`${REGISTRIES_COMMAND}\` generates from notebooks/`, () => {
  const have = fs.readFileSync(README, 'utf8');
  const want = withReadmeNotebooks(have);
  assert.ok(
    have === want,
    `README.md's notebook table is out of date: run \`${REGISTRIES_COMMAND}\` and commit it (first difference at ${firstDifference(want, have)})`,
  );
});

test(`the committed docs/registries.md is exactly what \`${REGISTRIES_COMMAND}\` generates from the registries`, () => {
  const want = renderRegistries();
  const have = fs.existsSync(REGISTRIES_DOC) ? fs.readFileSync(REGISTRIES_DOC, 'utf8') : '';
  assert.ok(
    have === want,
    `docs/registries.md is out of date with the registries: run \`${REGISTRIES_COMMAND}\` and commit it (first difference at ${firstDifference(want, have)})`,
  );
});

test('every architecture, attack, objective, dataset and notebook has its row, and every objective option its own', () => {
  const doc = renderRegistries();
  const row = (name: string) => new RegExp(`^\\| \`${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\``, 'm');
  for (const a of ARCHS) assert.match(doc, row(a), `architecture ${a}`);
  for (const a of attackNamePatterns()) assert.match(doc, row(a), `attack ${a}`);
  assert.equal(attackNamePatterns().length, Object.keys(ATTACKS).length);
  for (const id of OBJECTIVE_IDS) {
    assert.match(doc, row(id), `objective ${id}`);
    for (const option of Object.keys(objectiveEntry(id).options))
      assert.match(doc, new RegExp(`^\\| \`${id}\` \\| \`${option}\` \\|`, 'm'), `objective ${id}, option ${option}`);
  }
  for (const d of DATASETS) assert.match(doc, row(d), `dataset ${d}`);
  const notebooks = notebookNames();
  assert.ok(notebooks.length > 0);
  for (const n of notebooks) assert.match(doc, row(n), `notebook ${n}`);
});

test('writeRegistries writes a missing or stale page and only reports it in check mode; the built entry point finds the committed page current', () => {
  const file = path.join(tmpDir('piat-registries-'), 'registries.md');
  assert.equal(writeRegistries({ file, check: true }), true, 'a missing page differs');
  assert.equal(fs.existsSync(file), false, 'check mode writes nothing');
  assert.equal(writeRegistries({ file }), true);
  assert.equal(fs.readFileSync(file, 'utf8'), renderRegistries());
  assert.equal(writeRegistries({ file, check: true }), false);
  fs.appendFileSync(file, 'a hand edit\n');
  assert.equal(writeRegistries({ file, check: true }), true, 'a hand-edited page differs');
  assert.match(fs.readFileSync(file, 'utf8'), /a hand edit\n$/, 'check mode leaves it as it is');
  // the built entry point that the npm script runs, against the committed page
  const entry = path.join(REPO_ROOT, 'dist', 'src', 'experiments', 'registry-docs.js');
  const r = spawnSync(process.execPath, [entry, '--check'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /and the README match the registries/);
});
