/** Executes the notebooks at the smoke profile through the same runner users call. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { REPO_ROOT, tmpDir } from './helpers';

const PYTHON = '/usr/bin/python3';
const RUNNER = path.join(REPO_ROOT, 'scripts', 'run_notebooks.py');

function runNotebooks(args: string[], out: string) {
  return spawnSync(PYTHON, [RUNNER, '--profile', 'smoke', '--out', out, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, PIAT_RUNS: path.join(out, 'runs') },
    encoding: 'utf8',
    timeout: 15 * 60 * 1000,
  });
}

test('notebook 01 executes at the smoke profile and its report holds the charts as inline SVG', () => {
  const out = tmpDir('piat-nb-');
  const r = runNotebooks([path.join(REPO_ROOT, 'notebooks', '01-toy-example.ipynb')], out);
  assert.equal(r.status, 0, `runner failed:\n${r.stderr}`);
  const html = fs.readFileSync(path.join(out, '01-toy-example.html'), 'utf8');
  const svgs = [...html.matchAll(/src="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1], 'base64').toString('utf8'));
  assert.ok(svgs.length >= 4, `expected the Fig. 2, 3 and 4/5 charts, found ${svgs.length}`);
  for (const svg of svgs) {
    assert.match(svg, /^<svg/);
    assert.ok((svg.match(/<path|<circle|<line/g) ?? []).length > 20, 'chart has drawn marks');
  }
  assert.match(html, /Fig\. 2/);
  assert.match(html, /Fig\. 4 \/ 5/);
  assert.match(html, /std of epoch-to-epoch PGD-20 change/);
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href="(https?|file):/, 'report must open offline: no external scripts or styles');
  assert.match(fs.readFileSync(path.join(out, 'index.html'), 'utf8'), /01-toy-example\.html.*smoke/s);
});

test('a failing cell makes the runner exit non-zero and name the notebook and cell', () => {
  const dir = tmpDir('piat-nbfail-');
  const nb = {
    cells: [
      { cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: 'const a: number = 1;' },
      { cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: 'throw new Error("boom in cell two");' },
    ],
    metadata: { kernelspec: { name: 'piat-ts', display_name: 'TS', language: 'typescript' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  const file = path.join(dir, 'broken.ipynb');
  fs.writeFileSync(file, JSON.stringify(nb));
  const r = runNotebooks([file], dir);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /broken\.ipynb failed in cell 2 of 2/);
  assert.match(r.stderr, /boom in cell two/);
});
