/**
 * The layer rules of src/ (.dependency-cruiser.cjs, `npm run check:layers`, run first by
 * `npm test`): the library imports nothing of src/experiments, src/sweep or src/cli.ts, and no
 * module of src/ is on an import cycle, type-only imports included. The checker passes on this
 * tree, and fails, naming the rule and the import, on a small tree that breaks each rule.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { REPO_ROOT, tmpDir } from './helpers';

const CONFIG = path.join(REPO_ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(REPO_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** Runs the checker as `npm run check:layers` does, in `cwd` (whose src/ it checks). */
function checkLayers(cwd: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', CONFIG, '--output-type', 'err-long'], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('npm run check:layers runs the checker with the rule file this test uses', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.scripts['check:layers'], 'depcruise src --config .dependency-cruiser.cjs --output-type err-long');
  assert.match(fs.readFileSync(path.join(REPO_ROOT, 'scripts', 'test.sh'), 'utf8'), /^npm run --silent check:layers /m);
});

test('the tree of src/ keeps the layer rules', () => {
  const r = checkLayers(REPO_ROOT);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /no dependency violations found/);
});

test('an upward import out of the library, or a cycle (type-only too), fails naming the rule and the import', () => {
  const dir = tmpDir('piat-layers-');
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text + '\n');
  };
  try {
    fs.copyFileSync(path.join(REPO_ROOT, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
    // upward: the library into experiments/, sweep/ (a re-export) and cli.ts (a type-only import)
    write('src/train/low.ts', "import { high } from '../experiments/high';\nexport const low = high + 1;");
    write('src/experiments/high.ts', 'export const high = 1;');
    write('src/index.ts', "export * from './sweep/grid';");
    write('src/sweep/grid.ts', 'export const grid = 1;');
    write('src/settings.ts', "import type { Cli } from './cli';\nexport type Settings = Cli;");
    write('src/cli.ts', 'export type Cli = { name: string };');
    // downward is fine: experiments, sweep and the CLI use the library
    write('src/experiments/uses-library.ts', "import { low } from '../train/low';\nexport const uses = low;");
    write('src/sweep/uses-library.ts', "import { low } from '../train/low';\nexport const uses = low;");
    // a cycle made of type-only imports
    write('src/util/a.ts', "import type { B } from './b';\nexport interface A { b?: B }");
    write('src/util/b.ts', "import type { A } from './a';\nexport interface B { a?: A }");
    const r = checkLayers(dir);
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /error library-imports-upward: src\/train\/low\.ts → src\/experiments\/high\.ts/);
    assert.match(r.out, /error library-imports-upward: src\/index\.ts → src\/sweep\/grid\.ts/);
    assert.match(r.out, /error library-imports-upward: src\/settings\.ts → src\/cli\.ts/);
    assert.match(r.out, /error no-cycles: src\/util\/(a|b)\.ts →\s+src\/util\/(b|a)\.ts →/);
    assert.doesNotMatch(r.out, /uses-library/);
    assert.match(r.out, /4 dependency violations/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
