/**
 * The training methods the paper compares. A method is a structured spec — an objective of the
 * registry (src/objectives/registry.ts) with its options, PIAT around it or not, A&P's attack or
 * not, and weight averaging — and its name in the paper's tables is derived from the spec
 * (`methodName`), never parsed. PAPER_METHODS lists the ones the notebooks train:
 *
 *   PGD-AT, ALP, TRADES, MART, MAIL, CFA, RAT, NMSE     the baselines (NMSE = PGD-AT + NMSE, Table V; CFA with its FAWA;
 *                                                      MAIL on its base 'pgd-at', reweighting after 75/120 of the run)
 *   PIAT                                               PIAT around PGD-AT (Table III's "PIAT" row)
 *   PIAT+<baseline>                                     PIAT around any baseline (PIAT+NMSE is the paper's method)
 *   SWA, EMA                                            weight-averaging comparisons (PGD-AT inside)
 *   PGD-AT+A&P, TRADES+A&P, MART+A&P (and PIAT+…+A&P)  A&P's ARD and PRM around a base (ViTs, Table IV)
 * Variants: `nmseLambda` (Fig. 7) and `piatSchedule` (Fig. 9) change the named method and its run name.
 */
import { PgdOptions } from '../attacks/pgd';
import { makeObjective, OBJECTIVES, ObjectiveId } from '../objectives/registry';
import { piat, PiatOptions } from '../piat/hook';
import { BetaSchedule } from '../piat/schedule';
import { averagingHook } from '../averaging';
import { TrainerHook } from '../train/hooks';
import { ArrayDataset } from '../data/dataset';
import { Objective } from '../objectives/types';
import { PiatError } from '../util/errors';

/** A method as compareMethods() trains it: its name, a fresh objective, its hooks. */
export interface MethodSpec {
  name: string;
  objective: () => Objective;
  /** `validation`: the held-out tail of the training set when `holdOut` is set (CFA's FAWA) */
  hooks?: (ctx: { validation?: ArrayDataset }) => TrainerHook[];
  /** examples held out from the end of the training set as validation data for the hooks */
  holdOut?: number;
}

/** A training method as data. */
export interface Method {
  /** the objective, by its registry id */
  objective: ObjectiveId;
  /** its options besides the training attack (which comes from the context), e.g. { lambda: 2 } */
  options?: Record<string, unknown>;
  /** PIAT around the objective, with these options ({} = the defaults); absent: no PIAT */
  piat?: PiatOptions;
  /** train on A&P's attack (ViTs); the objective is its base: pgd-at, trades or mart */
  ap?: boolean;
  /** weight averaging: SWA or EMA (compared with PIAT), or FAWA (CFA's, on held-out training data) */
  averaging?: 'swa' | 'ema' | 'fawa';
}

export const BASELINES = ['PGD-AT', 'ALP', 'TRADES', 'MART', 'MAIL', 'CFA', 'RAT', 'NMSE'] as const;
export type Baseline = (typeof BASELINES)[number];
/** The bases A&P wraps in the paper's Table IV. */
export const AP_BASES = ['PGD-AT', 'TRADES', 'MART'] as const;

/** Each baseline of the paper's tables as a method (CFA is run with its FAWA averaging, as the paper's row). */
const BASELINE_METHODS: Method[] = [
  { objective: 'pgd-at' },
  { objective: 'alp' },
  { objective: 'trades' },
  { objective: 'mart' },
  { objective: 'mail' },
  { objective: 'cfa', averaging: 'fawa' },
  { objective: 'rat' },
  { objective: 'nmse' },
];

/** Every method the notebooks train, in the order of the module comment. */
export const PAPER_METHODS: Method[] = [
  ...BASELINE_METHODS,
  ...BASELINE_METHODS.map((m) => ({ ...m, piat: {} })),
  { objective: 'pgd-at', averaging: 'swa' },
  { objective: 'pgd-at', averaging: 'ema' },
  ...(['pgd-at', 'trades', 'mart'] as const).flatMap((objective): Method[] => [
    { objective, ap: true },
    { objective, ap: true, piat: {} },
  ]),
];

/** The name the paper's tables give a method: PIAT+NMSE, PIAT (around PGD-AT), SWA, TRADES+A&P, … */
export function methodName(m: Method): string {
  const base = m.averaging === 'swa' ? 'SWA' : m.averaging === 'ema' ? 'EMA' : OBJECTIVES[m.objective].paperName;
  const name = !m.piat ? base : m.objective === 'pgd-at' && !m.ap && !m.averaging ? 'PIAT' : `PIAT+${base}`;
  return m.ap ? `${name}+A&P` : name;
}

const BY_NAME = new Map(PAPER_METHODS.map((m) => [methodName(m), m]));

/** The method a table name stands for; an unknown name is an error that lists them. */
export function methodByName(name: string): Method {
  const m = BY_NAME.get(name);
  if (!m) throw new PiatError('unknown-option', `Unknown method '${name}'. Expected one of: ${[...BY_NAME.keys()].join(', ')}.`);
  return m;
}

/**
 * MAIL's burn-in as a fraction of the run: the authors' `train.py` (QizhouWang/MAIL) trains the base
 * method, then loads that model and runs MAIL's reweighting from epoch 75 of its 120 (`begin_epoch =
 * 75 if args.epochs == 120`), so the method tables train the base method for 75/120 of any run.
 */
export const MAIL_BURN_IN_FRACTION = 75 / 120;

/** MAIL's burn-in for a run of `epochs` epochs: round(75·epochs/120), i.e. 75 of 120, 113 of 180, 5 of 8, 1 of 2. */
export function mailBurnInEpochs(epochs: number): number {
  return Math.round(MAIL_BURN_IN_FRACTION * epochs);
}

export interface MethodContext {
  /** the training attack */
  attack: PgdOptions;
  numClasses: number;
  /** the run's epochs (SWA's start, MAIL's burn-in) */
  epochs: number;
  /** MAIL: epochs of its base method before the reweighting starts (default mailBurnInEpochs(epochs)) */
  mailBurnInEpochs?: number;
  /** CFA: first calibrated epoch (authors: 10 of 200; scale it with short runs) */
  cfaBeginEpoch?: number;
  /** CFA: training examples held out for FAWA's validation */
  cfaValidation?: number;
  /** PIAT warm-up epochs (default 0) */
  piatWarmup?: number;
  /** A&P: the ViT's patch size and the epochs over which its drop rate ramps up */
  apPatch?: number;
  apRampEpochs?: number;
  /** options per objective that every method of this context uses (e.g. the toy example's ALP λ) */
  objectiveOptions?: Partial<Record<ObjectiveId, Record<string, unknown>>>;
}

export interface MethodVariant {
  /** NMSE's λ (default 4) */
  nmseLambda?: number;
  /** PIAT's β schedule (default dynamic) */
  piatSchedule?: BetaSchedule;
}

/** The method with a variant's changes: NMSE's λ (where the objective is NMSE) and PIAT's schedule (where PIAT is on). */
export function withVariant(m: Method, v: MethodVariant = {}): Method {
  const options = v.nmseLambda !== undefined && m.objective === 'nmse' ? { ...m.options, lambda: v.nmseLambda } : m.options;
  const piatOptions = m.piat && v.piatSchedule ? { ...m.piat, schedule: v.piatSchedule } : m.piat;
  return { ...m, options, piat: piatOptions };
}

/** The run name of a method variant, e.g. "PIAT+NMSE λ=2" or "PIAT+NMSE β=0.9". */
export function methodLabel(name: string, v: MethodVariant = {}): string {
  const parts = [name];
  if (v.nmseLambda !== undefined) parts.push(`λ=${v.nmseLambda}`);
  if (v.piatSchedule) parts.push(v.piatSchedule.kind === 'fixed' ? `β=${v.piatSchedule.beta}` : 'β dynamic');
  return parts.join(' ');
}

/**
 * The objective's options that come from the context rather than the method: CFA's calibration start
 * and MAIL's burn-in (the context's, or 75/120 of its epochs). The context's objectiveOptions and the
 * method's own options override them.
 */
function contextOptions(m: Method, c: MethodContext): Record<string, unknown> {
  const fromContext =
    m.objective === 'cfa' && c.cfaBeginEpoch !== undefined
      ? { beginEpoch: c.cfaBeginEpoch }
      : m.objective === 'mail'
        ? { burnInEpochs: c.mailBurnInEpochs ?? mailBurnInEpochs(c.epochs) }
        : {};
  return { attack: c.attack, ...fromContext, ...c.objectiveOptions?.[m.objective] };
}

/** What compareMethods trains for a method in a context, under the run name `name`. */
export function buildMethod(name: string, m: Method, c: MethodContext): MethodSpec {
  if (m.ap && !(AP_BASES as readonly string[]).includes(OBJECTIVES[m.objective].paperName)) {
    throw new PiatError('bad-config', `${name}: A&P wraps ${AP_BASES.join(', ')} only, not ${OBJECTIVES[m.objective].paperName}`);
  }
  if (m.ap && !c.apPatch) throw new PiatError('bad-config', `${name}: A&P needs the ViT's patch size (apPatch)`);
  const objective = m.ap
    ? () =>
        makeObjective(
          'ap',
          { base: m.objective as 'pgd-at' | 'trades' | 'mart', patch: c.apPatch as number, rampEpochs: c.apRampEpochs, attack: c.attack },
          c,
        )
    : () => makeObjective(m.objective, { ...contextOptions(m, c), ...m.options }, c);
  const hooks = (ctx: { validation?: ArrayDataset }): TrainerHook[] => {
    const hs: TrainerHook[] = [];
    if (m.piat) hs.push(piat({ warmupEpochs: c.piatWarmup, ...m.piat }));
    if (m.averaging === 'swa') hs.push(averagingHook({ kind: 'swa', startEpoch: Math.floor(c.epochs / 2) }));
    if (m.averaging === 'ema') hs.push(averagingHook({ kind: 'ema' }));
    // FAWA validates with PGD-10 at the training threat model, as the authors do
    if (m.averaging === 'fawa' && ctx.validation)
      hs.push(averagingHook({ kind: 'fawa' }, { validation: ctx.validation, attack: { ...c.attack, steps: 10, randomStart: true } }));
    return hs;
  };
  return { name, objective, hooks, holdOut: m.averaging === 'fawa' ? c.cfaValidation : undefined };
}

/** A method by its table name (see the module comment), with a variant. */
export function methodSpec(name: string, c: MethodContext, v: MethodVariant = {}): MethodSpec {
  return buildMethod(methodLabel(name, v), withVariant(methodByName(name), v), c);
}
