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
  trainSeconds: number;
  evalSeconds: number;
  [extra: string]: unknown;
}
