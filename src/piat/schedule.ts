/**
 * β schedules for PIAT (Eq. 10).
 *
 * dynamic (PORT; tags and sources: docs/METHOD.md, "PIAT"): β_k = min(β_max, (k + a)/(k + b)), k = 0, 1, 2, … counting interpolations;
 *   defaults β_max = 0.99, a = 1, b = 10 → β = 0.10, 0.53, 0.85, 0.92 at k = 0, 9, 49, 99.
 *   β starts small (trust the new parameters) and grows towards 1 (trust the history).
 * fixed: the same β every epoch (the paper's Fig. 9 comparison).
 */
import { PiatError } from '../util/errors';

export type BetaSchedule = { kind: 'dynamic'; betaMax?: number; a?: number; b?: number } | { kind: 'fixed'; beta: number };

export const DYNAMIC_DEFAULTS = { betaMax: 0.99, a: 1, b: 10 };

export function validateSchedule(s: BetaSchedule): void {
  if (s.kind === 'fixed') {
    if (!(s.beta >= 0 && s.beta <= 1)) throw new PiatError('bad-option', `fixed β must be in [0, 1], got ${s.beta}`);
  } else if (s.kind === 'dynamic') {
    const { betaMax, a, b } = { ...DYNAMIC_DEFAULTS, ...s };
    if (!(betaMax >= 0 && betaMax <= 1)) throw new PiatError('bad-option', `betaMax must be in [0, 1], got ${betaMax}`);
    if (!(b > 0 && a >= 0 && a <= b)) throw new PiatError('bad-option', `dynamic β needs 0 <= a <= b and b > 0, got a=${a}, b=${b}`);
  } else {
    throw new PiatError('unknown-option', `Unknown β schedule kind '${(s as { kind: string }).kind}'. Expected dynamic or fixed.`);
  }
}

/** β for the k-th interpolation (k from 0). */
export function betaAt(s: BetaSchedule, k: number): number {
  if (s.kind === 'fixed') return s.beta;
  const { betaMax, a, b } = { ...DYNAMIC_DEFAULTS, ...s };
  return Math.min(betaMax, (k + a) / (k + b));
}
