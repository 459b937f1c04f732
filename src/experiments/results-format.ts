/** How the published results write their numbers: points, intervals and markdown tables (results.ts, results-final.ts). */
import { PairedDifference, verdictLabel } from '../stats';

const points = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(1)}`;
const known = (c: { interval: { lo: number; hi: number } }) => Number.isFinite(c.interval.lo) && Number.isFinite(c.interval.hi);

/** "+2.0 points, 95 % interval [+1.2, +2.7] on 1000 test images" (or the interval unknown with one seed). */
export function formatShort(c: { diff: number; interval: { lo: number; hi: number }; n: number }): string {
  const s = points;
  if (!known(c)) return `${s(c.diff)} points on ${c.n} test images, interval unknown (the seed-to-seed part needs two seeds)`;
  return `${s(c.diff)} points, 95 % interval [${s(c.interval.lo)}, ${s(c.interval.hi)}] on ${c.n} test images`;
}

/** A table cell: the difference, its interval and the verdict in bold. */
export const versusCell = (d?: PairedDifference): string => (d ? `${formatShort(d)}, **${verdictLabel(d)}**` : 'no per-image results');

/** An accuracy in percent with one decimal ("–" for none). */
export const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : (100 * v).toFixed(1));

/** Rows of objects as a markdown table (the columns of the first row). */
export function markdownTable(rows: Record<string, string | number>[]): string[] {
  if (!rows.length) return [];
  const cols = Object.keys(rows[0]);
  return [
    `| ${cols.join(' | ')} |`,
    `|${cols.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cols.map((c) => r[c]).join(' | ')} |`),
  ];
}

/** The note under a table of separate 95 % intervals: how often one of n would exclude 0 by chance. */
export const multiplicityNote = (n: number, shared: string): string =>
  `Each cell is its own 95 % interval, not corrected for multiplicity: among ${n} comparisons with no true difference, one or more would exclude 0 (read "holds" or "does not hold") in up to about ${Math.round(100 * (1 - 0.95 ** n))} % of experiments${shared}.`;

/** "+2.0 [+1.2, +2.7] **holds**": a difference in points, its 95 % interval (when known) and verdict in bold. */
export function formatCompact(d: PairedDifference): string {
  return `${points(d.diff)}${known(d) ? ` [${points(d.interval.lo)}, ${points(d.interval.hi)}]` : ''} **${verdictLabel(d)}**`;
}
