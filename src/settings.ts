/**
 * Threat models that more than one module uses, defined once. Why each value is what it is, and
 * what the tags READ / PORT / CHOSEN mean: docs/METHOD.md, "Threat models" and "Tags".
 */
import type { PgdOptions } from './attacks/pgd';

/** An L∞ threat model: the radius ε and the step α of the iterative attacks. */
export interface LinfThreat {
  eps: number;
  alpha: number;
}

/** The paper's threat model for CIFAR-10/100 and SVHN: ε = 8/255, step 2/255 (READ). */
export const PAPER_THREAT: Readonly<LinfThreat> = { eps: 8 / 255, alpha: 2 / 255 };

/**
 * The step for a radius when none is given: the paper's ratio α = ε/4 (2/255 at 8/255), so that 20
 * steps can cross the ball 2.5 times whatever ε is.
 */
export function defaultStep(eps: number): number {
  return eps / 4;
}

/** The paper's training attack: PGD-10 at its threat model, random start (READ). */
export const PAPER_TRAIN_ATTACK: PgdOptions = { ...PAPER_THREAT, steps: 10, randomStart: true };

/** The paper's per-epoch and final PGD evaluation: PGD-20 with random start (READ). */
export const PAPER_EVAL_ATTACK: PgdOptions = { ...PAPER_THREAT, steps: 20, randomStart: true };

/** Fashion-MNIST's radius at the small profiles (CHOSEN: the MNIST family's scale, not CIFAR's). */
export const FMNIST_EPS = 0.1;

/** The toy example's radius on [0, 1]³ (CHOSEN so that PGD-AT visibly oscillates). */
export const TOY_EPS = 0.03;
