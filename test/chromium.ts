/**
 * Rendered reports in headless Chromium (Debian's chromium, offline flags, a new empty profile
 * each time): run a probe script against a page, or take a screenshot of it.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { tmpDir } from './helpers';
import { Image, readPng } from './png';

const CHROMIUM = '/usr/bin/chromium';

function chromium(args: string[]) {
  assert.ok(fs.existsSync(CHROMIUM), 'Debian chromium is missing: bash scripts/setup.sh installs it');
  return spawnSync(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--hide-scrollbars',
      `--user-data-dir=${tmpDir('piat-chromium-')}`,
      '--allow-file-access-from-files',
      ...args,
    ],
    { encoding: 'utf8', timeout: 120000 },
  );
}

export interface Size {
  width: number;
  height: number;
}

/**
 * Loads `page` (a file in `dir`) in a frame of `size` at the top left of a window of that size, so
 * its layout is the one a screenshot of the same size shows, and returns what `probe` returns:
 * the source of an async function of the page's document, whose result is JSON.
 */
export function probePage<T>(dir: string, page: string, probe: string, size: Size = { width: 1200, height: 3000 }): T {
  const host = path.join(dir, `probe-${path.basename(page, '.html')}.html`);
  fs.writeFileSync(
    host,
    `<!doctype html><html><body style="margin:0"><iframe id="f" src="${page}" style="border:0;display:block;width:${size.width}px;height:${size.height}px"></iframe><script>
document.getElementById('f').addEventListener('load', async () => {
  const result = await (${probe})(document.getElementById('f').contentDocument);
  const r = document.createElement('pre'); r.id = 'result'; r.textContent = JSON.stringify(result); document.body.appendChild(r);
});
</script></body></html>`,
  );
  const r = chromium([`--window-size=${size.width},${size.height}`, '--virtual-time-budget=10000', '--dump-dom', `file://${host}`]);
  const m = /<pre id="result">([^<]*)<\/pre>/.exec(r.stdout ?? '');
  assert.ok(m, `Chromium did not report on ${page} (exit ${r.status}): ${(r.stderr ?? '').slice(-400)}`);
  return JSON.parse(
    m[1]
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&'),
  ) as T;
}

/** A screenshot of `page` (a file in `dir`) in a window of `size`, saved next to it as `png`. */
export function screenshot(dir: string, page: string, png: string, size: Size): Image {
  const file = path.join(dir, png);
  const r = chromium([`--window-size=${size.width},${size.height}`, `--screenshot=${file}`, `file://${path.join(dir, page)}`]);
  assert.ok(fs.existsSync(file), `Chromium took no screenshot of ${page} (exit ${r.status}): ${(r.stderr ?? '').slice(-400)}`);
  return readPng(file);
}
