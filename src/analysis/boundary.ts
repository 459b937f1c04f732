/**
 * Decision boundaries of a binary classifier in a 2-D slice of its input space, as line
 * segments (marching squares on the logit margin z₁ − z₀ over a grid), ready for a chart.
 */
import * as tf from '@tensorflow/tfjs';
import { logits } from '../models/forward';
import { tidyValues } from '../util/tensors';

export interface Segment {
  x: number;
  y: number;
  x2: number;
  y2: number;
}

export interface BoundaryOptions {
  /** input dimensions spanning the slice (default 0 and 1) */
  dims?: [number, number];
  /** values of the other input dimensions (default 0.5 each) */
  fixed?: number[];
  range?: [number, number];
  /** grid points per axis */
  resolution?: number;
}

/** Margin z₁ − z₀ on a resolution×resolution grid (row-major, y outer). */
export function marginGrid(model: tf.LayersModel, inputDim: number, o: BoundaryOptions = {}): { grid: Float32Array; xs: number[] } {
  const [d0, d1] = o.dims ?? [0, 1];
  const [lo, hi] = o.range ?? [0, 1];
  const r = o.resolution ?? 120;
  const xs = Array.from({ length: r }, (_, i) => lo + ((hi - lo) * i) / (r - 1));
  const pts = new Float32Array(r * r * inputDim);
  for (let j = 0; j < r; j++) {
    for (let i = 0; i < r; i++) {
      const base = (j * r + i) * inputDim;
      for (let k = 0; k < inputDim; k++) pts[base + k] = o.fixed?.[k] ?? 0.5;
      pts[base + d0] = xs[i];
      pts[base + d1] = xs[j];
    }
  }
  const [grid] = tidyValues(() => {
    const z = logits(model, tf.tensor2d(pts, [r * r, inputDim]), false);
    return [tf.sub(z.slice([0, 1], [-1, 1]), z.slice([0, 0], [-1, 1]))];
  }) as Float32Array[];
  return { grid, xs };
}

/** Zero-level contour of a grid by marching squares, with linear interpolation on cell edges. */
export function contourSegments(grid: Float32Array, xs: number[]): Segment[] {
  const r = xs.length;
  const v = (i: number, j: number) => grid[j * r + i];
  const lerp = (a: number, b: number, fa: number, fb: number) => a + ((b - a) * fa) / (fa - fb);
  const out: Segment[] = [];
  for (let j = 0; j < r - 1; j++) {
    for (let i = 0; i < r - 1; i++) {
      const f = [v(i, j), v(i + 1, j), v(i + 1, j + 1), v(i, j + 1)];
      const p: [number, number][] = [];
      // edges: bottom (0-1), right (1-2), top (2-3), left (3-0)
      if (f[0] > 0 !== f[1] > 0) p.push([lerp(xs[i], xs[i + 1], f[0], f[1]), xs[j]]);
      if (f[1] > 0 !== f[2] > 0) p.push([xs[i + 1], lerp(xs[j], xs[j + 1], f[1], f[2])]);
      if (f[2] > 0 !== f[3] > 0) p.push([lerp(xs[i + 1], xs[i], f[2], f[3]), xs[j + 1]]);
      if (f[3] > 0 !== f[0] > 0) p.push([xs[i], lerp(xs[j + 1], xs[j], f[3], f[0])]);
      // 2 crossings: one segment; 4 (saddle): pair them in order
      for (let k = 0; k + 1 < p.length; k += 2) out.push({ x: p[k][0], y: p[k][1], x2: p[k + 1][0], y2: p[k + 1][1] });
    }
  }
  return out;
}

/** The decision boundary of `model` in a 2-D slice, as segments. */
export function decisionBoundary(model: tf.LayersModel, inputDim: number, o: BoundaryOptions = {}): Segment[] {
  const { grid, xs } = marginGrid(model, inputDim, o);
  return contourSegments(grid, xs);
}
