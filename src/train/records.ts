import * as fs from 'fs';
import * as path from 'path';
import type { PerImage } from '../eval/per-image';
import { PiatError } from '../util/errors';

/** Per-image correctness on one split at one epoch: clean, and under the evaluation attack (null without one). */
export interface SplitPerImage {
  clean: PerImage;
  robust: PerImage | null;
}

/** What a training run records per epoch (one JSON line each in records.jsonl). */
export interface EpochRecord {
  /** 1-based epoch number */
  epoch: number;
  lr: number;
  /** PIAT's β this epoch (null: no interpolation, e.g. warm-up); absent without PIAT */
  beta?: number | null;
  /** mean over the epoch's batches of the total loss and of each named part */
  loss: Record<string, number>;
  /** clean accuracy on the evaluation subset (null when there is no evaluation) */
  cleanAcc: number | null;
  /** robust accuracy under the evaluation attack (PGD20 by default) */
  robustAcc: number | null;
  /** clean / robust accuracy on the first eval.trainN training examples (when set) */
  trainCleanAcc?: number | null;
  trainRobustAcc?: number | null;
  /** clean / robust accuracy on the validation split (when given; Best is chosen on valRobustAcc) */
  valCleanAcc?: number | null;
  valRobustAcc?: number | null;
  trainSeconds: number;
  evalSeconds: number;
  /**
   * evaluated epochs only: which images the accuracies above counted as correct (test: the first
   * eval.n test examples; train: the first eval.trainN training examples; validation: the first
   * eval.validationN of the validation split), for paired comparisons between runs
   */
  perImage?: { test?: SplitPerImage; train?: SplitPerImage; validation?: SplitPerImage };
  [extra: string]: unknown;
}

/** A run folder's records.jsonl, one record per line ([] when the run has none yet); a corrupt line is an error naming it. */
export function readRecordsFile(runDir: string): EpochRecord[] {
  const file = path.join(runDir, 'records.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l) as EpochRecord;
      } catch {
        throw new PiatError('bad-value', `${file}, line ${i + 1}: not a JSON record`);
      }
    });
}
