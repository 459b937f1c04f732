/**
 * The trainer's config (TrainConfig, re-exported by trainer.ts), and schemas of it and of attack
 * options as JSON configs write them. One description serves train()'s own check, run configs
 * (src/train/run-config-schema.ts) and the JSON Schema for editors (schema/run-config.schema.json).
 */
import type { PgdOptions } from '../attacks/pgd';
import { Field, ObjectSchema, s, Schema } from '../util/schema';
import type { LrSchedule } from './lr';
import type { SgdOptions } from './sgd';

export interface EvalConfig {
  /** number of test examples evaluated each epoch */
  n: number;
  batchSize?: number;
  /** robustness attack; default the paper's PGD-20 (PAPER_EVAL_ATTACK; docs/METHOD.md, "Threat models"); null for clean only */
  attack?: PgdOptions | null;
  /**
   * also evaluate the first trainN training examples (without augmentation) with the same attack,
   * recorded as trainCleanAcc / trainRobustAcc: robust overfitting shows as this rising while the
   * test's falls
   */
  trainN?: number;
  /** examples of TrainOptions.validation evaluated each epoch (default all of it) */
  validationN?: number;
  /**
   * evaluate every `every` epochs (and always after the last); the epochs between record null
   * accuracies and cannot become Best. Long runs on small data spend most of their time here otherwise.
   */
  every?: number;
}

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  seed: number;
  optimizer: SgdOptions;
  lrSchedule?: LrSchedule;
  /** per-epoch evaluation on the test set (needs `test`); omitted: none */
  eval?: EvalConfig;
  /** also keep every epoch's weights under epochs/ (for analyses of single epochs) */
  keepEpochCheckpoints?: boolean;
  /** accumulate each batch's gradient over micro-batches of this size (bounded memory; see train/step.ts) */
  microBatchSize?: number;
}

/**
 * Attack options by what the attack reads: `pgd` starts at random in the ε-ball; `noise` starts at
 * x + 0.001·N(0, 1) (MART, MAIL), so randomStart does not apply; `kl` also maximises the KL
 * divergence (TRADES, RAT, CFA), so neither does loss. Fields an attack ignores are refused.
 */
export function attackSchema(kind: 'pgd' | 'noise' | 'kl', description?: string): ObjectSchema {
  const fields: Record<string, Field | Schema> = {
    eps: s.num({ min: 0, description: 'radius of the threat model (L∞: 8/255 in the paper)' }),
    alpha: s.num({ min: 0, description: 'step size' }),
    steps: s.int({ min: 0, description: 'iterations' }),
  };
  if (kind === 'pgd') fields.randomStart = s.opt(s.bool({ default: true, description: 'uniform random start inside the ε-ball' }));
  fields.norm = s.opt(s.oneOf(['linf', 'l2'], 'a norm', { default: 'linf' }));
  if (kind !== 'kl') fields.loss = s.opt(s.oneOf(['ce', 'margin'], 'an attack loss', { default: 'ce', description: "'margin' = CW∞" }));
  fields.clip = s.opt(s.arr(s.num(), { minItems: 2, maxItems: 2, default: [0, 1], description: 'valid input range [lo, hi]' }));
  return s.obj(fields, {
    description,
    check: (a) =>
      Array.isArray(a.clip) && !((a.clip[0] as number) < (a.clip[1] as number))
        ? ['clip', `must be [lo, hi] with lo < hi, got ${JSON.stringify(a.clip)}`]
        : undefined,
  });
}

const schedule = (extra: Record<string, Field | Schema>) => s.obj(extra);

export const lrScheduleSchema = s.tagged(
  'kind',
  'an LR schedule',
  {
    constant: s.obj({ kind: s.str() }),
    piecewise: schedule({
      kind: s.str(),
      milestones: s.arr(s.int({ min: 0 }), { description: 'epochs (0-based) at which the LR is multiplied by factor' }),
      factor: s.opt(s.num({ above: 0, default: 0.1 })),
    }),
    knots: schedule({
      kind: s.str(),
      knots: s.arr(s.arr(s.num({ min: 0 }), { minItems: 2, maxItems: 2 }), {
        minItems: 1,
        description: '[epoch (0-based), multiplier of the base LR] pairs, epochs increasing; linear in between',
      }),
    }),
    linear: schedule({
      kind: s.str(),
      epochs: s.int({ min: 1, description: 'epochs to reach final' }),
      final: s.opt(s.num({ min: 0, default: 0 })),
    }),
    cosine: schedule({
      kind: s.str(),
      epochs: s.int({ min: 1, description: 'epochs to reach final' }),
      final: s.opt(s.num({ min: 0, default: 0 })),
    }),
  },
  { description: 'per-epoch LR schedule (default constant)' },
);

export const optimizerSchema = s.obj(
  {
    lr: s.num({ above: 0, description: 'base learning rate' }),
    momentum: s.opt(s.num({ min: 0, below: 1, default: 0.9 })),
    weightDecay: s.opt(s.num({ min: 0, default: 0 })),
    nesterov: s.opt(s.bool({ default: false })),
    decayBiasAndNorm: s.opt(s.bool({ default: true, description: 'apply weight decay to biases and BN γ/β too (as PyTorch does)' })),
  },
  { description: 'SGD, PyTorch semantics' },
);

export const trainConfigSchema = s.obj({
  epochs: s.int({ min: 1 }),
  batchSize: s.int({ min: 1 }),
  seed: s.int({ min: 0 }),
  optimizer: s.req(optimizerSchema, 'missing (e.g. { "lr": 0.01, "momentum": 0.9 })'),
  lrSchedule: s.opt(lrScheduleSchema),
  eval: s.opt(
    s.obj(
      {
        n: s.int({ min: 1, description: 'test examples evaluated after every epoch' }),
        batchSize: s.opt(s.int({ min: 1, default: 256 })),
        attack: s.opt(attackSchema('pgd', 'robustness attack (default PGD20, ε 8/255, α 2/255); null: clean accuracy only'), {
          nullable: true,
        }),
        trainN: s.opt(
          s.int({
            min: 1,
            description: 'also evaluate the first trainN training examples (no augmentation): trainCleanAcc / trainRobustAcc',
          }),
        ),
        every: s.opt(
          s.int({
            min: 1,
            description: 'evaluate every N epochs and after the last (default 1); the epochs between record null accuracies',
          }),
        ),
        validationN: s.opt(
          s.int({
            min: 1,
            description:
              'examples of the validation split evaluated each epoch (default all); Best is chosen there when a validation split is given',
          }),
        ),
      },
      { description: 'per-epoch evaluation on the test set; Best = highest robust accuracy' },
    ),
  ),
  keepEpochCheckpoints: s.opt(s.bool({ default: false, description: "also keep every epoch's weights under epochs/" })),
  microBatchSize: s.opt(
    s.int({ min: 1, description: "accumulate each batch's gradient over micro-batches of this size (bounded memory)" }),
  ),
});
