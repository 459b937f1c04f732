/**
 * Every named attack, in one table (as torchattacks lists its attacks in `__all__`). `evaluate()`,
 * the CLI's `eval --attacks` and the tests iterate over ATTACKS; adding an attack is its own file,
 * one entry here and its test (docs/contributing.md).
 *
 * A name is an entry's key, or, for an entry with `steps`, the key followed by a step count:
 * `pgd20` is PGD with 20 steps. Entries are of three kinds: `clean` (no attack), `batch` (an
 * AttackFn run batch by batch) and `dataset` (AutoAttack, which runs its own batches over the
 * points still robust and can resume).
 */
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset } from '../data/dataset';
import { PiatError } from '../util/errors';
import { closest } from '../util/schema';
import { AttackFn } from './contract';
import { pgd } from './pgd';
import { cwInf, fgsm, ifgsm, mifgsm } from './iterative';
import { rfgsm } from './rfgsm';
import { AaAttack, autoAttack, AutoAttackOptions, runAaComponent } from './autoattack';

export * from './contract';

/** AutoAttack's version and budgets, for `aa` and its components (defaults: the standard version's). */
export type AaBudget = Pick<AutoAttackOptions, 'version' | 'attacks' | 'apgdSteps' | 'targets' | 'squareQueries' | 'fabSteps'>;

/** What a named attack is built from: the threat model, a seed and AutoAttack's budgets. */
export interface AttackSettings {
  /** L∞ radius */
  eps: number;
  /** step size of the iterative attacks (PGD, CW, I-FGSM, MI-FGSM) */
  alpha: number;
  /** seed of random starts and AutoAttack's draws */
  seed: number;
  aa?: AaBudget;
}

/** A dataset-level run (AutoAttack): the first n examples, optionally resumable through a state file. */
export interface DatasetRun {
  n: number;
  statePath?: string;
  progress?: boolean;
}

/** What a dataset-level run gives: its robust accuracy over the first n examples and, per example, whether it stayed correct. */
export interface DatasetResult {
  accuracy: number;
  /** per example, in order: still classified correctly after the attack (length n) */
  correct: boolean[];
}

interface Described {
  /** one line: what it does */
  summary: string;
  /** where it comes from */
  source: string;
}

export type AttackEntry = Described &
  (
    | { kind: 'clean' }
    | {
        kind: 'batch';
        /** the name carries a step count (pgd20); `default` is used when it does not (cw = cw20); `example` is what tests and usage show */
        steps?: { default?: number; example: number };
        make(s: AttackSettings, steps: number): AttackFn;
      }
    | { kind: 'dataset'; run(model: tf.LayersModel, data: ArrayDataset, s: AttackSettings, r: DatasetRun): DatasetResult }
  );

export const ATTACKS = {
  clean: { kind: 'clean', summary: 'no attack: accuracy on the clean inputs', source: '' },
  fgsm: {
    kind: 'batch',
    summary: 'one signed-gradient step of size ε on the cross entropy',
    source: 'Goodfellow et al. 2015',
    make: (s) => (m, x, y) => fgsm(m, x, y, { eps: s.eps }),
  },
  rfgsm: {
    kind: 'batch',
    summary: 'R+FGSM: a random signed step of ε/2, then one FGSM step of ε/2',
    source: 'Tramèr et al. 2018',
    make: (s) => (m, x, y) => rfgsm(m, x, y, { eps: s.eps, seed: s.seed }),
  },
  pgd: {
    kind: 'batch',
    steps: { example: 20 },
    summary: "PGD on the cross entropy: uniform random start, N signed steps of α, projected (pgd20 = the paper's PGD20)",
    source: 'Madry et al. 2018',
    make: (s, steps) => (m, x, y) => pgd(m, x, y, { eps: s.eps, alpha: s.alpha, steps, seed: s.seed }),
  },
  cw: {
    kind: 'batch',
    steps: { default: 20, example: 20 },
    summary: "CW∞: PGD on the margin max_{j≠y} z_j − z_y (cw20 = the paper's CW)",
    source: 'Carlini & Wagner 2017, as adversarial-training tables use it',
    make: (s, steps) => (m, x, y) => cwInf(m, x, y, { eps: s.eps, alpha: s.alpha, steps, seed: s.seed }),
  },
  ifgsm: {
    kind: 'batch',
    steps: { example: 10 },
    summary: 'I-FGSM (BIM): N signed steps of α from x, projected, no random start',
    source: 'Kurakin et al. 2017',
    make: (s, steps) => (m, x, y) => ifgsm(m, x, y, { eps: s.eps, alpha: s.alpha, steps }),
  },
  mifgsm: {
    kind: 'batch',
    steps: { example: 10 },
    summary: 'MI-FGSM: I-FGSM on an L1-normalised gradient momentum (μ = 1)',
    source: 'Dong et al. 2018',
    make: (s, steps) => (m, x, y) => mifgsm(m, x, y, { eps: s.eps, alpha: s.alpha, steps }),
  },
  'apgd-ce': aaEntry('apgd-ce', "AutoAttack's APGD on the cross entropy (step size adapted per example; 5 restarts in version plus)"),
  'apgd-dlr': aaEntry('apgd-dlr', 'APGD on the DLR loss (shift- and scale-invariant in the logits)'),
  'apgd-t': aaEntry(
    'apgd-t',
    'APGD on the targeted DLR loss, towards each of the most likely wrong classes in turn (needs ≥ targets + 1 classes, at least 4)',
  ),
  fab: aaEntry('fab', 'untargeted FAB: minimal-norm steps towards the nearest linearised decision boundary (version plus, 5 restarts)'),
  'fab-t': aaEntry('fab-t', 'targeted FAB: minimal-norm steps towards the linearised decision boundary of each target class'),
  square: {
    ...aaEntry('square', 'Square Attack: score-based random search over squares of ±2ε (no gradients)'),
    source: 'Andriushchenko et al. 2020',
  },
  aa: {
    kind: 'dataset',
    summary: 'AutoAttack: its components in turn, each on the points still robust (standard version unless `aa` says otherwise)',
    source: 'Croce & Hein 2020, fra31/auto-attack',
    run: (model, data, s, r) => {
      const { robustAccuracy, robust } = autoAttack(model, data, {
        ...s.aa,
        eps: s.eps,
        n: r.n,
        seed: s.seed,
        statePath: r.statePath,
        progress: r.progress,
      });
      return { accuracy: robustAccuracy, correct: robust };
    },
  },
} satisfies Record<string, AttackEntry>;

export type AttackId = keyof typeof ATTACKS;

/** An AutoAttack component as a batch attack, with AutoAttack's budgets (the same function AutoAttack runs). */
function aaEntry(name: AaAttack, summary: string): AttackEntry {
  return {
    kind: 'batch',
    summary,
    source: 'Croce & Hein 2020',
    make: (s) => (m, x, y) => runAaComponent(name, m, x, y, { ...s.aa, eps: s.eps, seed: s.seed }),
  };
}

/** A name resolved against the registry: its entry and, for stepped attacks, the step count. */
export interface ResolvedAttack {
  name: string;
  id: AttackId;
  entry: AttackEntry;
  steps: number;
}

/** Every name an entry answers to, in the form usage lines show (pgdN, cwN, …). */
export function attackNamePatterns(): string[] {
  return (Object.entries(ATTACKS) as [AttackId, AttackEntry][]).map(([id, e]) => (e.kind === 'batch' && e.steps ? `${id}N` : id));
}

/** One concrete name per entry (pgd → pgd20): what the registry test runs and usage shows as examples. */
export function attackExamples(): string[] {
  return (Object.entries(ATTACKS) as [AttackId, AttackEntry][]).map(([id, e]) =>
    e.kind === 'batch' && e.steps ? `${id}${e.steps.example}` : id,
  );
}

/** Looks a name up; an unknown name is an error that lists the registry (and suggests the nearest). */
export function resolveAttack(name: string): ResolvedAttack {
  const entries = ATTACKS as Record<string, AttackEntry>;
  const direct = entries[name];
  if (direct) {
    if (direct.kind === 'batch' && direct.steps && direct.steps.default === undefined) {
      throw new PiatError('unknown-option', `Attack '${name}' needs a step count, e.g. ${name}${direct.steps.example}.`);
    }
    const steps = direct.kind === 'batch' && direct.steps ? (direct.steps.default as number) : 0;
    return { name, id: name as AttackId, entry: direct, steps };
  }
  const m = /^(.*?)(\d+)$/.exec(name);
  const stepped = m ? entries[m[1]] : undefined;
  if (m && stepped && stepped.kind === 'batch' && stepped.steps) return { name, id: m[1] as AttackId, entry: stepped, steps: Number(m[2]) };
  const hint = closest(name, attackExamples());
  const known = `${attackNamePatterns().join(', ')} (N = steps, e.g. ${attackExamples()
    .filter((n) => /\d$/.test(n))
    .join(', ')})`;
  throw new PiatError(
    'unknown-option',
    `Unknown attack '${name}'${hint.startsWith('; did you mean') ? hint : ''}. Expected one of: ${known}.`,
  );
}
