/**
 * The extract-into-src loop without a build: a notebook imports a module that the test writes
 * under src/, through the same runner users call; the module is then edited and the next
 * execution (a fresh kernel, as after a restart) uses the edit. dist/ never sees the module.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { REPO_ROOT, tmpDir } from '../helpers';

function notebook(cells: string[]): string {
  return JSON.stringify({
    cells: cells.map((source, i) => ({ cell_type: 'code', id: `c${i}`, metadata: {}, execution_count: null, outputs: [], source })),
    metadata: { kernelspec: { name: 'piat-ts', display_name: 'TypeScript (piat-ts, tslab)', language: 'typescript' } },
    nbformat: 4,
    nbformat_minor: 5,
  });
}

/** The text cells printed (stdout), from the report the runner rendered. */
function streamText(html: string): string {
  return [...html.matchAll(/data-mime-type="text\/plain">\s*<pre>([\s\S]*?)<\/pre>/g)].map((m) => m[1]).join('');
}

test('a notebook imports a module just moved into src/ (TypeScript, no build); an edit shows after a kernel restart', () => {
  const name = `extract-test-${process.pid}`;
  const moduleFile = path.join(REPO_ROOT, 'src', `${name}.ts`);
  const dir = tmpDir('piat-extract-');
  const nbFile = path.join(dir, 'extract.ipynb');
  // imported the way notebooks/ does it: a relative path to the source file, no extension
  const spec = path.relative(dir, moduleFile).replace(/\.ts$/, '');
  fs.writeFileSync(
    nbFile,
    notebook([`import { scaled, took } from ${JSON.stringify(spec)};\nconsole.log(\`scaled: \${scaled(21)}; took: \${took(90)}\`);`]),
  );
  const run = () =>
    spawnSync('/usr/bin/python3', [path.join(REPO_ROOT, 'scripts', 'run_notebooks.py'), '--profile', 'smoke', '--out', dir, nbFile], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 5 * 60 * 1000,
    });
  // what a cell moved into src/ looks like: typed, and using the library's own modules
  const source = (factor: number) =>
    `import { formatSeconds } from './util/progress';\n\nexport function scaled(x: number): number {\n  return ${factor} * x;\n}\n\nexport const took = (s: number): string => formatSeconds(s);\n`;
  try {
    fs.writeFileSync(moduleFile, source(2));
    let r = run();
    assert.equal(r.status, 0, `runner failed:\n${r.stderr}`);
    assert.match(streamText(fs.readFileSync(path.join(dir, 'extract.html'), 'utf8')), /scaled: 42; took: 1m30s/);
    fs.writeFileSync(moduleFile, source(3));
    r = run();
    assert.equal(r.status, 0, `runner failed:\n${r.stderr}`);
    assert.match(streamText(fs.readFileSync(path.join(dir, 'extract.html'), 'utf8')), /scaled: 63; took: 1m30s/);
    assert.equal(fs.existsSync(path.join(REPO_ROOT, 'dist', 'src', `${name}.js`)), false, 'no build ran');
  } finally {
    fs.rmSync(moduleFile, { force: true });
  }
});
