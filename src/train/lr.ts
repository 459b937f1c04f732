/**
 * Learning-rate schedules, evaluated per epoch (0-based).
 *   piecewise: step decay, ×factor at each milestone (the common reading of "decays at 60 and 90")
 *   knots:     piecewise-linear through (epoch, multiplier) points, constant outside them. The
 *              paper's text reads "0.01 till epoch 60 and then linearly decays to 0.001, 0.0001 at
 *              epoch 90 and 120": knots (0, 1) (60, 1) (90, 0.1) (120, 0.01) — `paperLinearDecay`.
 */
import { PiatError } from '../util/errors';

export type LrSchedule =
  | { kind: 'constant' }
  /** multiply the base LR by `factor` at each milestone epoch */
  | { kind: 'piecewise'; milestones: number[]; factor?: number }
  /** linear interpolation between knots [epoch, multiplier of the base LR], epochs strictly increasing */
  | { kind: 'knots'; knots: [number, number][] }
  /** linear decay from base to `final` over `epochs` */
  | { kind: 'linear'; epochs: number; final?: number }
  | { kind: 'cosine'; epochs: number; final?: number };

export function lrAt(s: LrSchedule, base: number, epoch: number): number {
  switch (s.kind) {
    case 'constant':
      return base;
    case 'piecewise': {
      const passed = s.milestones.filter((m) => epoch >= m).length;
      return base * Math.pow(s.factor ?? 0.1, passed);
    }
    case 'knots':
      return base * knotMultiplier(s.knots, epoch);
    case 'linear': {
      const t = Math.min(1, epoch / Math.max(1, s.epochs));
      return base + ((s.final ?? 0) - base) * t;
    }
    case 'cosine': {
      const t = Math.min(1, epoch / Math.max(1, s.epochs));
      const f = s.final ?? 0;
      return f + (base - f) * 0.5 * (1 + Math.cos(Math.PI * t));
    }
    default:
      throw new PiatError(
        'unknown-option',
        `Unknown LR schedule '${(s as { kind: string }).kind}'. Expected constant, piecewise, knots, linear or cosine.`,
      );
  }
}

/** The multiplier at `epoch` on the polyline through `knots` (held constant before the first and after the last). */
export function knotMultiplier(knots: [number, number][], epoch: number): number {
  checkKnots(knots);
  if (epoch <= knots[0][0]) return knots[0][1];
  for (let i = 1; i < knots.length; i++) {
    const [e1, m1] = knots[i];
    if (epoch <= e1) {
      const [e0, m0] = knots[i - 1];
      return m0 + ((m1 - m0) * (epoch - e0)) / (e1 - e0);
    }
  }
  return knots[knots.length - 1][1];
}

function checkKnots(knots: [number, number][]): void {
  if (!Array.isArray(knots) || knots.length === 0)
    throw new PiatError('bad-config', 'LR schedule knots: need at least one [epoch, multiplier] pair');
  for (let i = 0; i < knots.length; i++) {
    const k = knots[i];
    if (!Array.isArray(k) || k.length !== 2 || !k.every(Number.isFinite) || k[1] < 0)
      throw new PiatError('bad-config', `LR schedule knots[${i}]: expected [epoch, multiplier ≥ 0], got ${JSON.stringify(k)}`);
    if (i > 0 && !(k[0] > knots[i - 1][0]))
      throw new PiatError('bad-config', `LR schedule knots: epochs must increase strictly, got ${knots[i - 1][0]} then ${k[0]}`);
  }
}

/**
 * The paper's learning-rate shape for a run of `epochs` epochs: constant for the first half, linear
 * to ÷10 at three quarters and to ÷100 at the end (ResNet-18: 60 / 90 / 120; WRN: 90 / 135 / 180).
 */
export function paperLinearDecay(epochs: number): LrSchedule {
  return {
    kind: 'knots',
    knots: [
      [0, 1],
      [epochs / 2, 1],
      [(3 * epochs) / 4, 0.1],
      [epochs, 0.01],
    ],
  };
}

/** The step-decay reading of the same sentence: ÷10 at half and at three quarters of the run. */
export function paperStepDecay(epochs: number): LrSchedule {
  return { kind: 'piecewise', milestones: [Math.round(epochs / 2), Math.round((3 * epochs) / 4)] };
}

/** A short label for tables ("linear decay 60→90→120", "step ÷10 at 60, 90"). */
export function describeSchedule(s: LrSchedule): string {
  switch (s.kind) {
    case 'constant':
      return 'constant';
    case 'piecewise':
      return `step ×${s.factor ?? 0.1} at ${s.milestones.join(', ')}`;
    case 'knots':
      return `piecewise-linear through ${s.knots.map(([e, m]) => `(${e}, ×${m})`).join(' ')}`;
    case 'linear':
      return `linear to ${s.final ?? 0} over ${s.epochs}`;
    case 'cosine':
      return `cosine to ${s.final ?? 0} over ${s.epochs}`;
  }
}
