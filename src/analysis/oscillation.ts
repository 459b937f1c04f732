/** Statistics of how much a per-epoch curve (e.g. robust accuracy) jumps between epochs. */

export interface OscillationStats {
  /** standard deviation of epoch-to-epoch changes (root mean square of the differences' deviations) */
  stdOfChanges: number;
  /** mean absolute epoch-to-epoch change */
  meanAbsChange: number;
  /** largest single drop (positive number) and the epoch index (1-based) it ends at */
  largestDrop: number;
  largestDropEpoch: number;
}

export function oscillation(values: number[]): OscillationStats {
  const d = values.slice(1).map((v, i) => v - values[i]);
  if (d.length === 0) return { stdOfChanges: 0, meanAbsChange: 0, largestDrop: 0, largestDropEpoch: 0 };
  const m = d.reduce((a, b) => a + b, 0) / d.length;
  const std = Math.sqrt(d.reduce((s, x) => s + (x - m) ** 2, 0) / d.length);
  let drop = 0;
  let at = 0;
  d.forEach((x, i) => {
    if (-x > drop) {
      drop = -x;
      at = i + 2; // d[i] is the change from epoch i+1 to epoch i+2
    }
  });
  return { stdOfChanges: std, meanAbsChange: d.reduce((s, x) => s + Math.abs(x), 0) / d.length, largestDrop: drop, largestDropEpoch: at };
}
