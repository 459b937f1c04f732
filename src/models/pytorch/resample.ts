/**
 * Resizing pretrained ViT weights to another input grid, as timm does when a model is created at a
 * new image or patch size:
 *  - position embeddings: the grid part resized with F.interpolate(mode='bicubic', antialias=True,
 *    align_corners=False) (timm's resample_abs_pos_embed); prefix tokens (the class token) kept;
 *  - patch-embedding kernels: FlexiViT's pseudo-inverse resize (timm's resample_patch_embed), which
 *    keeps ⟨x, w⟩ for the resized patch of x: w' = pinv(Rᵀ)·w, R the bicubic resize matrix.
 * The bicubic filter is PyTorch's antialiased one (a = −0.5, support scaled by the downscale
 * factor, weights normalised per output pixel), so the numbers match torch's to float precision.
 */

/** Cubic convolution kernel with a = −0.5 (PyTorch's antialias path, as PIL). */
function cubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** The [outSize × inSize] matrix of PyTorch's antialiased bicubic resize along one axis (align_corners=False). */
export function resizeMatrix1d(inSize: number, outSize: number): Float64Array {
  const m = new Float64Array(outSize * inSize);
  const scale = inSize / outSize;
  const support = scale >= 1 ? 2 * scale : 2;
  const invScale = scale >= 1 ? 1 / scale : 1;
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    const w: number[] = [];
    for (let j = xmin; j < xmax; j++) {
      const v = cubic((j - center + 0.5) * invScale);
      w.push(v);
      total += v;
    }
    for (let j = xmin; j < xmax; j++) m[i * inSize + j] = total !== 0 ? w[j - xmin] / total : 0;
  }
  return m;
}

/** Resizes `c` channels of an [h, w] grid each (values laid out [h, w, c]) to [oh, ow]. */
export function resizeGrid(values: Float32Array | Float64Array, h: number, w: number, c: number, oh: number, ow: number): Float64Array {
  const rh = resizeMatrix1d(h, oh);
  const rw = resizeMatrix1d(w, ow);
  // rows first, then columns (separable; the order does not change the result beyond rounding)
  const tmp = new Float64Array(oh * w * c);
  for (let i = 0; i < oh; i++)
    for (let y = 0; y < h; y++) {
      const a = rh[i * h + y];
      if (a === 0) continue;
      for (let x = 0; x < w * c; x++) tmp[i * w * c + x] += a * values[y * w * c + x];
    }
  const out = new Float64Array(oh * ow * c);
  for (let i = 0; i < oh; i++)
    for (let j = 0; j < ow; j++)
      for (let x = 0; x < w; x++) {
        const a = rw[j * w + x];
        if (a === 0) continue;
        for (let k = 0; k < c; k++) out[(i * ow + j) * c + k] += a * tmp[(i * w + x) * c + k];
      }
  return out;
}

/**
 * A ViT position embedding [prefix + h·w, d] resized to [prefix + oh·ow, d]: the prefix tokens as
 * they are, the grid bicubic-resized.
 */
export function resamplePositionEmbedding(
  pos: Float32Array,
  d: number,
  prefix: number,
  h: number,
  w: number,
  oh: number,
  ow: number,
): Float32Array {
  const out = new Float32Array((prefix + oh * ow) * d);
  out.set(pos.subarray(0, prefix * d));
  out.set(resizeGrid(pos.subarray(prefix * d), h, w, d, oh, ow), prefix * d);
  return out;
}

/** Solves A·X = B for X (A n×n, B n×m, row-major), Gaussian elimination with partial pivoting. */
function solve(a: Float64Array, b: Float64Array, n: number, m: number): Float64Array {
  const A = Float64Array.from(a);
  const B = Float64Array.from(b);
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(A[r * n + col]) > Math.abs(A[p * n + col])) p = r;
    if (Math.abs(A[p * n + col]) < 1e-12) throw new Error('the patch resize matrix is singular');
    if (p !== col) {
      for (let k = 0; k < n; k++) [A[p * n + k], A[col * n + k]] = [A[col * n + k], A[p * n + k]];
      for (let k = 0; k < m; k++) [B[p * m + k], B[col * m + k]] = [B[col * m + k], B[p * m + k]];
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = A[r * n + col] / A[col * n + col];
      if (f === 0) continue;
      for (let k = col; k < n; k++) A[r * n + k] -= f * A[col * n + k];
      for (let k = 0; k < m; k++) B[r * m + k] -= f * B[col * m + k];
    }
  }
  for (let r = 0; r < n; r++) for (let k = 0; k < m; k++) B[r * m + k] /= A[r * n + r];
  return B;
}

/**
 * The [new² × old²] map of FlexiViT's kernel resize, pinv(Rᵀ) with R [new² × old²] the 2-D resize
 * (old patch → new patch). Rᵀ has full column rank when new ≤ old, so pinv(Rᵀ) = (R·Rᵀ)⁻¹·R.
 */
export function patchResizeMatrix(oldSize: number, newSize: number): Float64Array {
  const r1 = resizeMatrix1d(oldSize, newSize);
  const o2 = oldSize * oldSize;
  const n2 = newSize * newSize;
  const R = new Float64Array(n2 * o2); // R[(i,j), (y,x)] = r1[i,y]·r1[j,x]
  for (let i = 0; i < newSize; i++)
    for (let j = 0; j < newSize; j++)
      for (let y = 0; y < oldSize; y++)
        for (let x = 0; x < oldSize; x++) R[(i * newSize + j) * o2 + y * oldSize + x] = r1[i * oldSize + y] * r1[j * oldSize + x];
  const RRt = new Float64Array(n2 * n2);
  for (let a = 0; a < n2; a++)
    for (let b = 0; b < n2; b++) {
      let s = 0;
      for (let k = 0; k < o2; k++) s += R[a * o2 + k] * R[b * o2 + k];
      RRt[a * n2 + b] = s;
    }
  return solve(RRt, R, n2, o2);
}

/**
 * Patch-embedding kernels [outC, inC, old, old] (PyTorch's layout) resized to [outC, inC, new, new].
 * Only shrinking is supported (the case of 224-pixel checkpoints on 32-pixel images).
 */
export function resamplePatchKernel(w: Float32Array, outC: number, inC: number, oldSize: number, newSize: number): Float32Array {
  if (newSize > oldSize) throw new Error(`patch size ${oldSize} can only be resampled to a smaller one, not ${newSize}`);
  const P = patchResizeMatrix(oldSize, newSize);
  const o2 = oldSize * oldSize;
  const n2 = newSize * newSize;
  const out = new Float32Array(outC * inC * n2);
  for (let f = 0; f < outC * inC; f++)
    for (let a = 0; a < n2; a++) {
      let s = 0;
      for (let k = 0; k < o2; k++) s += P[a * o2 + k] * w[f * o2 + k];
      out[f * n2 + a] = s;
    }
  return out;
}
