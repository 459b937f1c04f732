/**
 * Every training objective by its id, in one table: its factory, its options as a run config writes
 * them (types, ranges, defaults), where it comes from and the name the paper's tables give it. Run
 * configs, the paper's method table (experiments/methods.ts) and the experiments build objectives
 * through `makeObjective`. Adding an objective is its own file, one entry here and its test
 * (docs/contributing.md); the run-config schema and the registry test pick the entry up.
 */
import { Field, ObjectSchema, s } from '../util/schema';
import { PiatError } from '../util/errors';
import { attackSchema } from '../train/config-schema';
import { Objective } from './types';
import { pgdAt, standard } from './pgd-at';
import { alp } from './alp';
import { nmse, NMSE_REDUCTIONS } from './nmse';
import { trades } from './trades';
import { mart } from './mart';
import { mail } from './mail';
import { cfa } from './cfa';
import { rat } from './rat';
import { ap } from './ap';

/** What the data decides about an objective (CFA calibrates per class). */
export interface ObjectiveEnv {
  numClasses: number;
}

export interface ObjectiveEntry<O = never> {
  /** the name the paper's tables use */
  paperName: string;
  /** the loss, in one line */
  summary: string;
  /** where it comes from, and where the defaults were read */
  source: string;
  /** the options a run config may write, with their defaults; `check` refuses combinations the factory would ignore */
  options: Record<string, Field>;
  check?: ObjectSchema['check'];
  make(options: O, env: ObjectiveEnv): Objective;
}

const nonNeg = (d?: number, description?: string) => s.opt(s.num({ min: 0, default: d, description }));
const attack = (kind: 'pgd' | 'noise' | 'kl') =>
  s.opt(attackSchema(kind, "training attack (default PGD-10 at the paper's threat model, src/settings.ts)"));
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** An entry whose `make` takes its factory's own options type. */
const entry = <O>(e: ObjectiveEntry<O>): ObjectiveEntry<O> => e;

export const OBJECTIVES = {
  standard: entry({
    paperName: 'Standard',
    summary: 'CE(f(x), y): no adversarial examples',
    source: '',
    options: {},
    make: () => standard(),
  }),
  'pgd-at': entry({
    paperName: 'PGD-AT',
    summary: 'CE(f(x′), y), x′ from PGD',
    source: 'Madry et al. 2018',
    options: { attack: attack('pgd') },
    make: pgdAt,
  }),
  alp: entry({
    paperName: 'ALP',
    summary: "CE(f(x′), y) + λ·mean‖f(x) − f(x′)‖₂² (the paper's Eq. 8)",
    source: 'Kannan et al. 2018; λ = 1 CHOSEN (docs/METHOD.md)',
    options: { lambda: nonNeg(1), attack: attack('pgd') },
    make: alp,
  }),
  nmse: entry({
    paperName: 'NMSE',
    summary: "CE(f(x′), y) + λ·mean wᵢ‖zᵢ/‖zᵢ‖ − z′ᵢ/‖z′ᵢ‖‖₂², wᵢ = 1 − softmax(zᵢ)_yᵢ (the paper's Eq. 11–12)",
    source: 'the paper, reconstructed (docs/METHOD.md); λ = 4 PORT',
    options: {
      lambda: nonNeg(4),
      ce: s.opt(s.oneOf(['adversarial', 'clean'], 'a CE input', { default: 'adversarial' })),
      reduction: s.opt(
        s.oneOf(NMSE_REDUCTIONS, 'an NMSE reduction', {
          default: 'sum',
          description: "over the classes: 'sum' (the authors' code) or 'mean' (÷ K)",
        }),
      ),
      attack: attack('pgd'),
    },
    make: nmse,
  }),
  trades: entry({
    paperName: 'TRADES',
    summary: 'CE(f(x), y) + β·mean KL(f(x) ‖ f(x′)), x′ maximises the KL',
    source: "Zhang et al. 2019; β = 6 as the paper's tables",
    options: { beta: nonNeg(6), attack: attack('kl') },
    make: trades,
  }),
  mart: entry({
    paperName: 'MART',
    summary: 'mean BCE(f(x′), y) + λ·mean KL(f(x) ‖ f(x′))·(1 − p_y(x))',
    source: "Wang et al. 2020 (authors' code); λ = 6",
    options: { lambda: nonNeg(6), attack: attack('noise') },
    make: mart,
  }),
  mail: entry({
    paperName: 'MAIL',
    summary: 'its base (pgd-at, trades, mart) with instance weights 3·sigmoid(slope·(PM + bias)) from the probabilistic margin',
    source:
      "Liu et al. 2021 (authors' code): bias −1.5, slope 1, β = 5; reweighting from epoch 75 of 120 (the method tables: 75/120 of the run)",
    options: {
      // 'at' is the former name of pgd-at, still read in older run configs
      base: s.opt(s.oneOf(['pgd-at', 'trades', 'mart', 'at'], 'a MAIL base', { default: 'pgd-at' })),
      bias: s.opt(s.num({ default: -1.5 })),
      slope: s.opt(s.num({ default: 1 })),
      beta: nonNeg(5),
      burnInEpochs: s.opt(
        s.int({
          min: 0,
          default: 0,
          description:
            "epochs of the base method (weight 1) before the reweighting starts; a run config's default is 0, the method tables use round(75·epochs/120), the authors' 75 of 120",
        }),
      ),
      attack: attack('noise'),
    },
    // the TRADES base maximises the KL divergence: an attack loss would be ignored
    check: (o) =>
      o.base === 'trades' && isObj(o.attack) && o.attack.loss !== undefined
        ? ['attack.loss', ": does not apply to MAIL's trades base (its attack maximises the KL divergence)"]
        : undefined,
    make: mail,
  }),
  cfa: entry({
    paperName: 'CFA',
    summary:
      "class-wise calibrated ε (CCM) and TRADES weight (CCR) from each class's robust accuracy of the previous epoch; with FAWA averaging in the paper's tables",
    source: "Wei et al. 2023 (authors' code PKU-ML/CFA): λ1 = λ2 = 0.5, β = 6, calibration from epoch 10",
    options: {
      base: s.opt(s.oneOf(['trades', 'pgd-at', 'at'], 'a CFA base', { default: 'trades' })),
      ccm: s.opt(s.bool({ default: true, description: 'class-wise calibrated ε' })),
      ccr: s.opt(s.bool({ default: true, description: 'class-wise calibrated TRADES weight (trades base only)' })),
      lambda1: nonNeg(0.5),
      lambda2: nonNeg(0.5),
      beta: nonNeg(6),
      beginEpoch: s.opt(s.int({ min: 0, default: 10 })),
      numClasses: s.opt(s.int({ min: 2, description: "default: the dataset's" })),
      attack: s.opt(attackSchema('pgd')),
    },
    check: (o) => {
      if (o.base !== 'pgd-at' && o.base !== 'at' && isObj(o.attack)) {
        const ignored = ['randomStart', 'loss'].find((k) => (o.attack as Record<string, unknown>)[k] !== undefined);
        if (ignored)
          return [
            `attack.${ignored}`,
            ": does not apply to CFA's trades base (its attack starts from small noise and maximises the KL divergence)",
          ];
      }
      if (o.base === 'at' && o.ccr !== undefined) return ['ccr', ": does not apply to base 'at' (CCR calibrates the TRADES weight)"];
      return undefined;
    },
    make: (o: Parameters<typeof cfa>[0], env) => cfa({ numClasses: env.numClasses, ...o }),
  }),
  rat: entry({
    paperName: 'RAT',
    summary: "TRADES on randomised weights plus soft labels from the Taylor gaps of the classifier's gradient",
    source: "Jin et al. 2023 (authors' code): α = 0.2, β = 6, σ = 1e-4",
    options: { alpha: nonNeg(0.2), beta: nonNeg(6), weightNoise: nonNeg(1e-4, 'σ of the noise on conv kernels'), attack: attack('kl') },
    make: rat,
  }),
  ap: entry({
    paperName: 'A&P',
    summary:
      "its base (pgd-at, trades, mart) trained on A&P's attack: residual-branch gradients dropped (ARD) and random patches masked (PRM), fading out over rampEpochs (ViTs)",
    source: "Mo et al. 2022 (authors' code): drop rate 1.0, ramp 10 epochs",
    options: {
      base: s.opt(s.oneOf(['pgd-at', 'trades', 'mart'], 'an A&P base', { default: 'pgd-at' })),
      patch: s.req(s.int({ min: 1, description: "the ViT's patch size" }), "A&P needs the ViT's patch size (a whole number > 0)"),
      dropRate: s.opt(s.num({ min: 0, max: 1, default: 1, description: 'final keep rate r' })),
      rampEpochs: s.opt(s.int({ min: 0, default: 10, description: 'epochs over which r ramps up from 0' })),
      ard: s.opt(s.bool({ default: true, description: 'attention random dropping' })),
      prm: s.opt(s.bool({ default: true, description: 'perturbation random masking' })),
      // A&P's attack reads the radius, step and iterations only
      attack: s.opt(
        s.obj(
          { eps: s.num({ min: 0 }), alpha: s.num({ min: 0 }), steps: s.int({ min: 0 }) },
          { description: "training attack (default PGD-10 at the paper's threat model)" },
        ),
      ),
    },
    make: ap,
  }),
};

export type ObjectiveId = keyof typeof OBJECTIVES;
export const OBJECTIVE_IDS = Object.keys(OBJECTIVES) as ObjectiveId[];
/** An objective's options, as its factory types them. */
export type ObjectiveOptions<K extends ObjectiveId> = Parameters<(typeof OBJECTIVES)[K]['make']>[0];

/** The entry of an objective id; an unknown id is an error that lists them. */
export function objectiveEntry(id: string): ObjectiveEntry<Record<string, unknown>> {
  const e = (OBJECTIVES as Record<string, ObjectiveEntry<never>>)[id];
  if (!e) throw new PiatError('unknown-option', `Unknown objective '${id}'. Expected one of: ${OBJECTIVE_IDS.join(', ')}.`);
  return e as unknown as ObjectiveEntry<Record<string, unknown>>;
}

/** Builds an objective by id (typed options when the id is a literal). */
export function makeObjective<K extends ObjectiveId>(id: K, options: ObjectiveOptions<K>, env: ObjectiveEnv): Objective;
export function makeObjective(id: string, options: Record<string, unknown>, env: ObjectiveEnv): Objective;
export function makeObjective(id: string, options: unknown, env: ObjectiveEnv): Objective {
  return objectiveEntry(id).make((options ?? {}) as Record<string, unknown>, env);
}
