/** Plain-text tables for the terminal: columns padded to their widest cell. */
export function textTable(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
