/**
 * FAWA, CFA's fairness-aware weight averaging (Wei et al. CVPR 2023; authors' code PKU-ML/CFA):
 * after every epoch, the class-wise robust accuracy (PGD-10) is measured on a held-out
 * validation set; only when its worst class reaches `threshold` (0.24) do the epoch's weights
 * enter an exponential average with decay 0.88 per epoch. The average is what the trainer then
 * evaluates and keeps as Best (as for SWA and EMA); until the first qualifying epoch the raw
 * weights are evaluated.
 */
import { ArrayDataset } from '../data/dataset';
import { pgd, PgdOptions, validatePgd } from '../attacks/pgd';
import { classAccuracy } from '../eval/accuracy';
import { HookContext } from '../train/hooks';
import { PiatError } from '../util/errors';
import { AveragedWeightsHook, blendWeights } from './weight-averaging';
import { PAPER_THREAT } from '../settings';

export interface FawaOptions {
  /** held-out training examples (not the test set) */
  validation: ArrayDataset;
  /** EMA decay per epoch (default 0.88) */
  decay?: number;
  /** worst-class robust validation accuracy needed for an epoch to enter the average (default 0.24) */
  threshold?: number;
  /** validation attack (default PGD-10 at the paper's threat model) */
  attack?: PgdOptions;
  /** validation examples used (default all) */
  n?: number;
}

export class FawaHook extends AveragedWeightsHook {
  readonly name = 'fawa';
  private updates = 0;
  private readonly validation: ArrayDataset;
  private readonly decay: number;
  private readonly threshold: number;
  private readonly attack: PgdOptions;
  private readonly n: number;

  constructor(o: FawaOptions) {
    super();
    this.validation = o.validation;
    this.decay = o.decay ?? 0.88;
    this.threshold = o.threshold ?? 0.24;
    this.attack = o.attack ?? { ...PAPER_THREAT, steps: 10 };
    this.n = Math.min(o.n ?? o.validation.size, o.validation.size);
    validatePgd(this.attack);
    if (!(this.decay >= 0 && this.decay < 1)) throw new PiatError('bad-option', `FAWA decay must be in [0, 1), got ${o.decay}`);
    if (this.n < 1) throw new PiatError('bad-input', 'FAWA needs a non-empty validation set');
  }

  get config() {
    return { decay: this.decay, threshold: this.threshold, attack: this.attack, validation: { name: this.validation.name, n: this.n } };
  }

  onEpochEnd({ model, epoch }: HookContext): Record<string, number | null> {
    const seed = 104729 + epoch;
    const perClass = classAccuracy(
      model,
      this.validation,
      this.validation.numClasses,
      (m, x, y) => pgd(m, x, y, { ...this.attack, seed }),
      { n: this.n },
    );
    const worst = Math.min(...perClass.filter((a) => !Number.isNaN(a)));
    if (worst >= this.threshold) {
      this.avg = blendWeights(this.avg, model, 1 - this.decay);
      this.updates++;
    }
    return { fawa_valid_worst_class: worst, fawa_updates: this.updates };
  }

  state() {
    return { updates: this.updates };
  }

  restore(s: Record<string, unknown>): void {
    this.updates = Number(s.updates ?? 0);
  }
}

export const fawa = (o: FawaOptions) => new FawaHook(o);
