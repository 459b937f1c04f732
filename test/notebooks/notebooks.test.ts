/** Executes the notebooks at the smoke profile through the same runner users call. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { REPO_ROOT, tmpDir } from '../helpers';
import { notebookNames } from '../../src/experiments/notebook';
import { probePage, screenshot } from '../chromium';
import { dominantColour } from '../png';

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

/** Decoded SVG charts embedded in a rendered report. */
function chartsIn(html: string): string[] {
  return [...html.matchAll(/src="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)"/g)].map((m) =>
    Buffer.from(m[1], 'base64').toString('utf8'),
  );
}

test('notebook 02 (Fig. 1 curves) executes at the smoke profile; its charts draw in Chromium', () => {
  const out = tmpDir('piat-nb02-');
  const r = runNotebooks([path.join(REPO_ROOT, 'notebooks', '02-oscillation-curves.ipynb')], out);
  assert.equal(r.status, 0, `runner failed:\n${r.stderr}`);
  const html = fs.readFileSync(path.join(out, '02-oscillation-curves.html'), 'utf8');
  assert.ok(chartsIn(html).length >= 2, 'the per-epoch charts');
  assert.match(html, /Paper \(Sec\. I, Fig\. 1, CIFAR-10\)/);
  chartsDrawnInChromium(out, '02-oscillation-curves.html').forEach((c, i) => assert.ok(c.ink > 2000, `chart ${i} not drawn`));
});

test('notebook 11 (the overfitting search) executes at the smoke profile; it applies the criterion and its charts draw', () => {
  const out = tmpDir('piat-nb11-');
  const r = runNotebooks([path.join(REPO_ROOT, 'notebooks', '11-overfitting-search.ipynb')], out);
  assert.equal(r.status, 0, `runner failed:\n${r.stderr}`);
  const html = fs.readFileSync(path.join(out, '11-overfitting-search.html'), 'utf8');
  assert.match(html, /<strong>Criterion:<\/strong>/);
  // one chart per setting, and the chosen setting with the overfit profile's six seeds in the criterion table
  assert.ok(chartsIn(html).length >= 3, 'a chart per setting');
  assert.match(html, /meets the criterion in \d of 6 seeds/);
  chartsDrawnInChromium(out, '11-overfitting-search.html').forEach((c, i) => assert.ok(c.ink > 2000, `chart ${i} not drawn`));
});

/** Every notebook, read from notebooks/ as the runner reads it: a notebook added there is executed below. */
const ALL_NOTEBOOKS = notebookNames();

/** The notebooks with a test of their own (above and below). */
const OWN_TESTS = ['01-toy-example', '02-oscillation-curves', '11-overfitting-search'];

// Every other notebook runs in one call, in order, like `npm run notebooks`: 03–10 share training runs (runs/pool/).
const TABLE_NOTEBOOKS = ALL_NOTEBOOKS.filter((n) => !OWN_TESTS.includes(n));

/** What each of them must show: the paper's claim it states, and at least this many charts. */
const TABLE_CHECKS: Record<string, [RegExp, number]> = {
  '03-table1-resnet18': [/Paper \(Table I, ResNet-18\)/, 1],
  '04-tables2-3-wrn': [/Paper \(Table III, WRN-32-10/, 1],
  '05-table4-vits': [/Paper \(Table IV, CIFAR-10, ImageNet-pretrained ViTs\)/, 1],
  '06-table5-nmse-vs-alp': [/Paper \(Table V, ResNet-18, no PIAT\)/, 1],
  '07-fig6-piat-frameworks': [/Paper \(Table III, WRN-32-10; Fig\. 6/, 1],
  '08-fig7-lambda-sweep': [/Paper \(Fig\. 7, CIFAR-10\)/, 1],
  '09-fig8-loss-landscape': [/Paper \(Fig\. 8, CIFAR-10/, 1],
  '10-fig9-beta-schedules': [/Paper \(Fig\. 9, CIFAR-10/, 2],
};

test('every notebook in notebooks/ is executed by a test here, with the checks of its report', () => {
  for (const n of OWN_TESTS) assert.ok(ALL_NOTEBOOKS.includes(n), `${n}.ipynb has a test of its own here but is not in notebooks/`);
  for (const n of TABLE_NOTEBOOKS)
    assert.ok(TABLE_CHECKS[n], `notebooks/${n}.ipynb: add to TABLE_CHECKS the paper's claim its report states and its chart count`);
  assert.deepEqual(Object.keys(TABLE_CHECKS).sort(), TABLE_NOTEBOOKS, 'TABLE_CHECKS names a notebook that is not in notebooks/');
});

test(`notebooks ${TABLE_NOTEBOOKS.map((n) => n.slice(0, 2)).join(', ')} (every one without a test of its own) execute at the smoke profile; each states the paper, compares, and its charts draw`, () => {
  const unchecked = TABLE_NOTEBOOKS.filter((n) => !TABLE_CHECKS[n]);
  assert.deepEqual(unchecked, [], 'notebooks without their checks in TABLE_CHECKS (not run: add them first)');
  const out = tmpDir('piat-nb-tables-');
  const r = runNotebooks(
    TABLE_NOTEBOOKS.map((n) => path.join(REPO_ROOT, 'notebooks', `${n}.ipynb`)),
    out,
  );
  assert.equal(r.status, 0, `runner failed:\n${r.stderr.slice(-4000)}`);
  for (const name of TABLE_NOTEBOOKS) {
    const [paperClaim, charts] = TABLE_CHECKS[name];
    const html = fs.readFileSync(path.join(out, `${name}.html`), 'utf8');
    assert.match(html, paperClaim, `${name}: the paper's claim`);
    assert.match(html, /<strong>Here:?<\/strong>/, `${name}: our comparison`);
    assert.ok(chartsIn(html).length >= charts, `${name}: ${charts} chart(s)`);
    chartsDrawnInChromium(out, `${name}.html`).forEach((c, i) => assert.ok(c.ink > 2000, `${name}: chart ${i} not drawn`));
  }
  // the pool trains each method once: Table I's eight plus the PIAT variants, NMSE, the λ and β variants
  const pool = path.join(out, 'runs', 'pool', 'smoke', 'fashion-mnist-small-cnn');
  assert.equal(fs.readdirSync(pool).length, 8 + 5 + 1 + 4 + 3);
  // the report site: every notebook listed with its status, on screen (screenshot) and linked when it ran
  const index = indexInChromium(out);
  assert.deepEqual(
    index.map((r) => r.notebook),
    ALL_NOTEBOOKS,
    'the index lists every notebook',
  );
  for (const r of index) {
    const ran = TABLE_NOTEBOOKS.includes(r.notebook);
    assert.equal(r.status, ran ? 'ok' : 'not run', r.notebook);
    if (!ran) continue;
    assert.equal(r.profile, 'smoke', r.notebook);
    assert.equal(r.link, `${r.notebook}.html`, r.notebook);
    assert.match(r.backend, /^(torch|tensorflow|wasm|cpu)\b/, r.notebook);
  }
});

test('notebook 01 executes at the smoke profile and its report holds the charts as inline SVG', () => {
  const out = tmpDir('piat-nb-');
  const r = runNotebooks([path.join(REPO_ROOT, 'notebooks', '01-toy-example.ipynb')], out);
  assert.equal(r.status, 0, `runner failed:\n${r.stderr}`);
  const html = fs.readFileSync(path.join(out, '01-toy-example.html'), 'utf8');
  const svgs = chartsIn(html);
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
  // training shows one summary line per run, nothing on stderr (issue 17: no more than 20 lines)
  const texts = textOutputs(html);
  assert.deepEqual(
    texts.filter((t) => t.mime !== 'text/plain'),
    [],
    'nothing shown as an error',
  );
  const lines = texts.flatMap((t) => t.lines);
  assert.ok(lines.length <= 20, `${lines.length} lines of text output:\n${lines.join('\n')}`);
  for (const m of ['PGD-AT', 'PIAT', 'ALP', 'NMSE', 'PIAT+NMSE'])
    assert.ok(
      lines.some((l) => l.startsWith(`${m} · 6 epochs in `)),
      `${m}: no summary line in\n${lines.join('\n')}`,
    );
  assert.match(
    html,
    /class="piat-run"[\s\S]*?Profile <b class="piat-profile">smoke<\/b> · backend <b class="piat-backend">(torch|tensorflow|wasm|cpu)[^<]*<\/b>[\s\S]*?>ok<\/b>/,
    'the banner names profile, backend and status',
  );
  const drawn = chartsDrawnInChromium(out, '01-toy-example.html');
  assert.equal(drawn.length, svgs.length, 'Chromium found every chart');
  drawn.forEach((c, i) => assert.ok(c.w > 100 && c.h > 100 && c.ink > 2000, `chart ${i} not drawn: ${JSON.stringify(c)}`));
  // a laptop screen reads it without scrolling sideways: code and text wrap
  const wide = probePage<{ page: number; view: number; cells: number }>(
    out,
    '01-toy-example.html',
    `async (doc) => ({ page: doc.documentElement.scrollWidth, view: doc.documentElement.clientWidth, cells: [...doc.querySelectorAll('.jp-InputArea-editor pre, .jp-RenderedText pre')].filter((p) => p.scrollWidth > p.clientWidth + 1).length })`,
    { width: 1280, height: 800 },
  );
  assert.ok(wide.page <= wide.view, `the report is ${wide.page} px wide in a ${wide.view} px window`);
  assert.equal(wide.cells, 0, 'code and text outputs wrap');
});

/** Opens a rendered report in headless Chromium and, for every embedded chart, decodes it, draws it on a canvas and counts inked pixels. */
function chartsDrawnInChromium(dir: string, report: string): { w: number; h: number; ink: number }[] {
  return probePage(
    dir,
    report,
    `async (doc) => {
  const out = [];
  for (const img of doc.querySelectorAll('img[src^="data:image/svg+xml"]')) {
    await img.decode().catch(() => {});
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, c.width || 1, c.height || 1).data;
    let ink = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 0 && (px[i] < 200 || px[i + 1] < 200 || px[i + 2] < 200)) ink++;
    out.push({ w: img.naturalWidth, h: img.naturalHeight, ink });
  }
  return out;
}`,
  );
}

/** Text outputs of a report (stdout, updated displays, stderr), as the reader sees them. */
function textOutputs(html: string): { mime: string; lines: string[] }[] {
  return [...html.matchAll(/data-mime-type="(text\/plain|application\/vnd\.jupyter\.stderr)">\s*<pre>([\s\S]*?)<\/pre>/g)].map((m) => ({
    mime: m[1],
    lines: m[2]
      .replace(/<[^>]+>/g, '')
      .split('\n')
      .filter((l) => l.trim()),
  }));
}

interface IndexRow {
  notebook: string;
  status: string;
  profile: string;
  backend: string;
  link: string | null;
  badge: { x: number; y: number; w: number; h: number };
}

const INDEX_SIZE = { width: 1200, height: 900 };
const BADGE_COLOURS: Record<string, [number, number, number]> = {
  ok: [0x1a, 0x7f, 0x37],
  failed: [0xcf, 0x22, 0x2e],
  'not run': [0x8c, 0x95, 0x9f],
};

/**
 * reports/index.html as a reader sees it: its rows read from the page in Chromium, and a
 * screenshot of the same size in which every row's status badge must be on screen, in its colour.
 */
function indexInChromium(dir: string): IndexRow[] {
  const rows = probePage<IndexRow[]>(
    dir,
    'index.html',
    `async (doc) => [...doc.querySelectorAll('tr[data-notebook]')].map((tr) => {
  const td = tr.querySelectorAll('td');
  const b = tr.querySelector('.status').getBoundingClientRect();
  return { notebook: tr.dataset.notebook, profile: td[1].textContent, backend: td[2].textContent, status: td[5].textContent,
    link: tr.querySelector('a') ? tr.querySelector('a').getAttribute('href') : null, badge: { x: b.x, y: b.y, w: b.width, h: b.height } };
})`,
    INDEX_SIZE,
  );
  const shot = screenshot(dir, 'index.html', 'index.png', INDEX_SIZE);
  for (const r of rows) {
    assert.ok(r.badge.w > 10 && r.badge.y + r.badge.h <= shot.height, `${r.notebook}: status badge off screen ${JSON.stringify(r.badge)}`);
    // the badge's inner half: its fill, without the rounded corners and little of the text
    const fill = dominantColour(shot, { x: r.badge.x + 2, y: r.badge.y + 1, w: r.badge.w - 4, h: 3 });
    const want = BADGE_COLOURS[r.status.startsWith('failed') ? 'failed' : r.status];
    assert.ok(
      want && fill.every((v, k) => Math.abs(v - want[k]) <= 12),
      `${r.notebook}: badge '${r.status}' drawn in rgb(${fill}), expected rgb(${want})`,
    );
  }
  return rows;
}

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
  assert.match(fs.readFileSync(path.join(dir, 'broken.html'), 'utf8'), /class="piat-status"[^>]*>failed at cell 2</);
  const row = indexInChromium(dir).find((x) => x.notebook === 'broken');
  assert.equal(row?.status, 'failed at cell 2');
});
