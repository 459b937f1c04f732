/**
 * Learning-rate schedules, evaluated per epoch (0-based).
 * piecewise: the paper's ResNet-18 setting is base 0.01, ×0.1 at epochs 60 and 90 (PAPER-NOTES).
 */
import { PiatError } from '../util/errors';

export type LrSchedule =
  | { kind: 'constant' }
  /** multiply the base LR by `factor` at each milestone epoch */
  | { kind: 'piecewise'; milestones: number[]; factor?: number }
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
      throw new PiatError('unknown-option', `Unknown LR schedule '${(s as { kind: string }).kind}'. Expected constant, piecewise, linear or cosine.`);
  }
}
