/** Trainer hooks that average weights without feeding the average back (SWA, EMA, CFA's FAWA), to compare with PIAT. */
import { ArrayDataset } from '../data/dataset';
import { PgdOptions } from '../attacks/pgd';
import { TrainerHook } from '../train/hooks';
import { PiatError } from '../util/errors';
import { AveragingOptions, WeightAveragingHook } from './weight-averaging';
import { fawa, FawaOptions } from './fawa';

export * from './weight-averaging';
export * from './fawa';

/** Which averaging and its settings, as run configs and method specs write it. */
export type AveragingSpec = AveragingOptions | ({ kind: 'fawa' } & Pick<FawaOptions, 'decay' | 'threshold' | 'attack'>);

/**
 * The hook for a spec. FAWA validates on held-out data, which the caller splits off the training
 * set; `attack` is its validation attack when the spec names none.
 */
export function averagingHook(spec: AveragingSpec, o: { validation?: ArrayDataset; attack?: PgdOptions } = {}): TrainerHook {
  if (spec.kind !== 'fawa') return new WeightAveragingHook(spec);
  if (!o.validation)
    throw new PiatError('bad-config', 'FAWA needs held-out validation data (a validation size taken from the end of the training set)');
  return fawa({ validation: o.validation, decay: spec.decay, threshold: spec.threshold, attack: spec.attack ?? o.attack });
}
