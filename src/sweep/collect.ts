/**
 * One table of a sweep: a row per point with the values that define it (grid keys first, then the
 * whole run config or the pool's settings, as dotted paths) and its metrics from the run folder:
 * the last epoch's and the Best epoch's clean and robust accuracy (fractions, as records.jsonl
 * has them), and where the pool cached a final evaluation of Best and Final (eval-*.json), its
 * accuracy per attack. Written as JSON and CSV; sweepTable() gives an arquero table for notebooks.
 */
import * as fs from 'fs';
import * as path from 'path';
import { EpochRecord, readRecordsFile } from '../train/records';
import { writeFileAtomic } from '../util/fsx';
import { evalCacheFiles } from '../eval/compare-runs';
import { readManifest, SweepPoint } from './folder';
import { textTable } from './text-table';

export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

/** Nested objects as dotted paths; arrays stay whole (as JSON text). */
export function flatten(v: Record<string, unknown>, prefix = '', out: Row = {}): Row {
  for (const [k, x] of Object.entries(v)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (x && typeof x === 'object' && !Array.isArray(x)) flatten(x as Record<string, unknown>, key, out);
    else out[key] = x === undefined ? null : Array.isArray(x) ? JSON.stringify(x) : (x as Cell);
  }
  return out;
}

/** Accuracy per attack of the newest cached evaluation of Best and of Final (the pool's eval-<which>-<key>.json). */
function cachedEvaluations(runDir: string): Row {
  const out: Row = {};
  if (!fs.existsSync(runDir)) return out;
  for (const which of ['best', 'final'] as const) {
    const newest = evalCacheFiles(runDir, which)
      .map((n) => path.join(runDir, n))
      .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
    if (!newest) continue;
    for (const r of JSON.parse(fs.readFileSync(newest, 'utf8')) as { attack: string; accuracy: number }[])
      out[`eval.${which}.${r.attack}`] = r.accuracy;
  }
  return out;
}

function metrics(point: SweepPoint): Row {
  const rs = readRecordsFile(point.runDir);
  const last = rs[rs.length - 1];
  // Best as the trainer picks it: the first epoch with the highest robust accuracy
  const best = rs.reduce<EpochRecord | undefined>(
    (b, r) => (r.robustAcc !== null && (!b || (r.robustAcc as number) > (b.robustAcc as number)) ? r : b),
    undefined,
  );
  return {
    done: fs.existsSync(path.join(point.runDir, 'done.json')),
    epochs: rs.length,
    'final.epoch': last?.epoch ?? null,
    'final.clean': last?.cleanAcc ?? null,
    'final.robust': last?.robustAcc ?? null,
    'final.loss': last?.loss.total ?? null,
    'best.epoch': best?.epoch ?? null,
    'best.clean': best?.cleanAcc ?? null,
    'best.robust': best?.robustAcc ?? null,
    seconds: Math.round(rs.reduce((s, r) => s + r.trainSeconds + r.evalSeconds, 0) * 1000) / 1000,
    ...cachedEvaluations(point.runDir),
  };
}

/** A row per point: point, tag, the point's own fields, metrics, then the rest of its settings. */
export function collectSweep(dir: string): Row[] {
  return readManifest(dir).points.map((p) => {
    const settings =
      p.job.kind === 'config'
        ? flatten(Object.fromEntries(Object.entries(p.job.config).filter(([k]) => k !== 'runDir' && k !== '$schema')))
        : flatten({ profile: p.job.profile, ...p.job.pool }, 'pool');
    return { point: p.index, tag: p.tag, ...flatten(p.fields), ...metrics(p), ...settings, runDir: p.runDir };
  });
}

const csvCell = (v: Cell | undefined): string => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** CSV with the union of the rows' columns, in order of first appearance. */
export function toCsv(rows: Row[]): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return [cols.map(csvCell).join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}

/** Writes `<prefix>.json` and `<prefix>.csv` (default prefix: <dir>/results). */
export function writeCollected(dir: string, rows: Row[], prefix = path.join(dir, 'results')): { json: string; csv: string } {
  const json = `${prefix}.json`;
  const csv = `${prefix}.csv`;
  writeFileAtomic(json, JSON.stringify(rows, null, 1));
  writeFileAtomic(csv, toCsv(rows));
  return { json, csv };
}

/** The collected table as an arquero table (a notebook shows it, filters it, joins it). */
export function sweepTable(dir: string): ReturnType<typeof import('arquero').from> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const aq = require('arquero') as typeof import('arquero');
  return aq.from(collectSweep(dir));
}

/** The metric columns as a text table for the terminal (accuracies in percent). */
export function formatCollected(rows: Row[]): string {
  const first = rows[0] ?? {};
  const fieldCols = Object.keys(first).slice(2, Object.keys(first).indexOf('done'));
  const cols = [
    'point',
    ...fieldCols,
    'epochs',
    'final.clean',
    'final.robust',
    'best.epoch',
    'best.robust',
    ...Object.keys(first).filter((c) => c.startsWith('eval.')),
  ];
  const show = (c: string, v: Cell | undefined) =>
    typeof v === 'number' && /clean|robust|^eval\./.test(c) ? `${(100 * v).toFixed(2)}%` : v === null || v === undefined ? '-' : String(v);
  return textTable([cols, ...rows.map((r) => cols.map((c) => show(c, r[c])))]);
}
