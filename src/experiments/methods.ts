/**
 * The training methods the paper compares, by the names its tables use, so that every notebook
 * builds the same method the same way (and finished runs can be shared between notebooks).
 *
 *   PGD-AT, ALP, TRADES, MART, MAIL, CFA, RAT, NMSE     the baselines (NMSE = PGD-AT + NMSE, Table V)
 *   PIAT                                               PIAT around PGD-AT (Table III's "PIAT" row)
 *   PIAT+<baseline>                                     PIAT around any baseline (PIAT+NMSE is the paper's method)
 *   SWA, EMA                                            weight-averaging comparisons (PGD-AT inside)
 *   PGD-AT+A&P, TRADES+A&P, MART+A&P (and PIAT+…+A&P)  A&P's ARD and PRM around a base (ViTs, Table IV)
 * Variants: `nmseLambda` (Fig. 7) and `piatSchedule` (Fig. 9) change the named method and its run name.
 */
import { PgdOptions } from '../attacks/pgd';
import { Objective } from '../objectives/types';
import { pgdAt } from '../objectives/pgd-at';
import { alp } from '../objectives/alp';
import { trades } from '../objectives/trades';
import { mart } from '../objectives/mart';
import { mail } from '../objectives/mail';
import { cfa } from '../objectives/cfa';
import { rat } from '../objectives/rat';
import { nmse } from '../objectives/nmse';
import { ap } from '../objectives/ap';
import { piat } from '../piat/hook';
import { BetaSchedule } from '../piat/schedule';
import { fawa } from '../averaging/fawa';
import { ema, swa } from '../averaging/weight-averaging';
import { TrainerHook } from '../train/hooks';
import { ArrayDataset } from '../data/dataset';
import { PiatError } from '../util/errors';
import { MethodSpec } from './compare-methods';

export const BASELINES = ['PGD-AT', 'ALP', 'TRADES', 'MART', 'MAIL', 'CFA', 'RAT', 'NMSE'] as const;
export type Baseline = (typeof BASELINES)[number];
/** The bases A&P wraps in the paper's Table IV. */
export const AP_BASES = ['PGD-AT', 'TRADES', 'MART'] as const;
const AP_BASE_NAMES = { 'PGD-AT': 'pgd-at', TRADES: 'trades', MART: 'mart' } as const;

export interface MethodContext {
  /** the training attack */
  attack: PgdOptions;
  numClasses: number;
  epochs: number;
  /** CFA: first calibrated epoch (authors: 10 of 200; scale it with short runs) */
  cfaBeginEpoch?: number;
  /** CFA: training examples held out for FAWA's validation */
  cfaValidation?: number;
  /** PIAT warm-up epochs (default 0) */
  piatWarmup?: number;
  /** A&P: the ViT's patch size and the epochs over which its drop rate ramps up */
  apPatch?: number;
  apRampEpochs?: number;
}

export interface MethodVariant {
  /** NMSE's λ (default 4) */
  nmseLambda?: number;
  /** PIAT's β schedule (default dynamic) */
  piatSchedule?: BetaSchedule;
}

function baseline(name: Baseline, c: MethodContext, v: MethodVariant): Objective {
  const attack = c.attack;
  switch (name) {
    case 'PGD-AT':
      return pgdAt({ attack });
    case 'ALP':
      return alp({ attack });
    case 'TRADES':
      return trades({ attack });
    case 'MART':
      return mart({ attack });
    case 'MAIL':
      // the authors' train.py trains the base method first and starts reweighting at epoch 75 of 120
      return mail({ attack, burnInEpochs: Math.round((c.epochs * 75) / 120) });
    case 'CFA':
      return cfa({ attack, numClasses: c.numClasses, beginEpoch: c.cfaBeginEpoch });
    case 'RAT':
      return rat({ attack });
    case 'NMSE':
      return nmse({ attack, lambda: v.nmseLambda });
  }
}

/** The run name of a method variant, e.g. "PIAT+NMSE λ=2" or "PIAT+NMSE β=0.9". */
export function methodLabel(name: string, v: MethodVariant = {}): string {
  const parts = [name];
  if (v.nmseLambda !== undefined) parts.push(`λ=${v.nmseLambda}`);
  if (v.piatSchedule) parts.push(v.piatSchedule.kind === 'fixed' ? `β=${v.piatSchedule.beta}` : 'β dynamic');
  return parts.join(' ');
}

/** A method by its table name (see the module comment). */
export function methodSpec(name: string, c: MethodContext, v: MethodVariant = {}): MethodSpec {
  const withPiat = name === 'PIAT' || name.startsWith('PIAT+');
  const withAp = name.endsWith('+A&P');
  const core = withAp ? name.slice(0, -4) : name;
  const baseName = (core === 'PIAT' || core === 'SWA' || core === 'EMA' ? 'PGD-AT' : withPiat ? core.slice(5) : core) as Baseline;
  if (!BASELINES.includes(baseName) || (withAp && !(AP_BASES as readonly string[]).includes(baseName))) {
    throw new PiatError('unknown-option', `Unknown method '${name}'. Expected one of ${BASELINES.join(', ')}, PIAT, PIAT+<one of them>, SWA, EMA, or ${AP_BASES.join(' / ')} with +A&P (optionally PIAT+ in front).`);
  }
  if (withAp && !c.apPatch) throw new PiatError('bad-config', `${name}: A&P needs the ViT's patch size (apPatch)`);
  const isCfa = baseName === 'CFA';
  const hooks = (ctx: { validation?: ArrayDataset }): TrainerHook[] => {
    const hs: TrainerHook[] = [];
    if (withPiat) hs.push(piat({ schedule: v.piatSchedule, warmupEpochs: c.piatWarmup }));
    if (name === 'SWA') hs.push(swa(Math.floor(c.epochs / 2)));
    if (name === 'EMA') hs.push(ema());
    if (isCfa && ctx.validation) hs.push(fawa({ validation: ctx.validation, attack: { ...c.attack, steps: 10, randomStart: true } }));
    return hs;
  };
  const objective = withAp
    ? () => ap({ base: AP_BASE_NAMES[baseName as (typeof AP_BASES)[number]], patch: c.apPatch as number, rampEpochs: c.apRampEpochs, attack: c.attack })
    : () => baseline(baseName, c, v);
  return { name: methodLabel(name, v), objective, hooks, holdOut: isCfa ? c.cfaValidation : undefined };
}
