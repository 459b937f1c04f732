/**
 * Checks on a model before its robustness is evaluated, after fra31/auto-attack's checks.py: a
 * model that already applies softmax, one whose outputs change between two forward passes, or one
 * whose input gradients vanish makes gradient-based attacks (PGD, CW, APGD) report robustness the
 * model does not have. Each finding is a warning: the evaluation still runs, the reader is told why
 * its numbers may be too high.
 */
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset } from '../data/dataset';
import { logits } from '../models/forward';
import { crossEntropyPerExample } from '../attacks/losses';
import { perExampleNorm } from '../attacks/projection';
import { AaBudget } from '../attacks/registry';
import { AA_VERSIONS } from '../attacks/autoattack';

export type ModelCheck = 'probabilities' | 'randomness' | 'zero-gradients' | 'classes';

export interface CheckWarning {
  check: ModelCheck;
  message: string;
}

export interface CheckOptions {
  /** examples checked: the first n of the data (default 100) */
  n?: number;
  /** the attacks that will run, to check the class count AutoAttack's targeted attacks need */
  attacks?: string[];
  aa?: AaBudget;
  /** largest change of the unit-normalised outputs between two passes still taken as equal (default 1e-4, as checks.py) */
  randomnessTolerance?: number;
  /** how far outputs may stray from [0, 1] and their rows' sums from 1 and still look like probabilities (default 1e-5) */
  probabilityTolerance?: number;
}

/** Outputs in [0, 1] whose rows sum to 1: softmax (or a sigmoid) already applied, so the attacks' losses saturate. */
export function looksLikeProbabilities(z: tf.Tensor2D, tolerance = 1e-5): boolean {
  return tf.tidy(() => {
    const inRange = tf.max(z).dataSync()[0] < 1 + tolerance && tf.min(z).dataSync()[0] > -tolerance;
    return inRange && tf.max(tf.abs(tf.sub(tf.sum(z, 1), 1))).dataSync()[0] < tolerance;
  });
}

/** Largest per-example distance between the unit-normalised outputs of two forward passes on x, and whether the predictions differ. */
export function forwardPassSpread(model: tf.LayersModel, x: tf.Tensor): { distance: number; predictionsDiffer: boolean } {
  return tf.tidy(() => {
    const [a, b] = [logits(model, x, false), logits(model, x, false)];
    const unit = (z: tf.Tensor) => tf.div(z, tf.add(perExampleNorm(z, 'l2'), 1e-10));
    const distance = tf.max(perExampleNorm(tf.sub(unit(a), unit(b)), 'l2')).dataSync()[0];
    const predictionsDiffer = tf.any(tf.notEqual(tf.argMax(a, 1), tf.argMax(b, 1))).dataSync()[0] === 1;
    return { distance, predictionsDiffer };
  });
}

/** How many examples of (x, y) have an input gradient of the cross entropy that is exactly zero. */
export function zeroGradientCount(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D): number {
  return tf.tidy(() => {
    const g = tf.grad((xa: tf.Tensor) => tf.sum(crossEntropyPerExample(logits(model, xa, false), y)))(x);
    const l1 = tf.sum(tf.abs(tf.reshape(g, [g.shape[0], -1])), 1);
    return tf.sum(tf.cast(tf.equal(l1, 0), 'int32')).dataSync()[0];
  });
}

/** AutoAttack's DLR losses need 3 classes (untargeted) or 4 (targeted), and each targeted attack one class more than its targets. */
export function classCountProblem(numClasses: number, attacks: string[], aa: AaBudget = {}): string | null {
  const aaAttacks = attacks.includes('aa') ? aaComponents(aa) : attacks;
  const dlr = aaAttacks.includes('apgd-dlr') || aaAttacks.includes('apgd-t');
  if (dlr && numClasses < 3) return `with ${numClasses} classes the DLR loss of APGD-DLR and APGD-T is undefined (it needs 3)`;
  if (aaAttacks.includes('apgd-t') && numClasses < 4)
    return `with ${numClasses} classes the targeted DLR loss of APGD-T is undefined (it needs 4)`;
  const targets = aa.targets ?? 9;
  const targeted = aaAttacks.filter((a) => a === 'apgd-t' || a === 'fab-t');
  if (targeted.length && targets + 1 > numClasses)
    return `${targeted.join(' and ')} attack ${targets} target classes, but the model has only ${numClasses - 1} wrong classes to target`;
  return null;
}

/** The components an `aa` run uses (the standard version's unless the budget names others). */
function aaComponents(aa: AaBudget): string[] {
  return aa.version === 'custom' ? (aa.attacks ?? []) : AA_VERSIONS[aa.version ?? 'standard'];
}

/** Runs every check on the first n examples of `data`; an empty list when none fires. */
export function checkModel(model: tf.LayersModel, data: ArrayDataset, o: CheckOptions = {}): CheckWarning[] {
  const out: CheckWarning[] = [];
  const { x, y } = data.head(Math.min(o.n ?? 100, data.size));
  try {
    const z = tf.tidy(() => logits(model, x, false));
    const probabilities = looksLikeProbabilities(z, o.probabilityTolerance);
    z.dispose();
    if (probabilities) {
      out.push({
        check: 'probabilities',
        message:
          'the model outputs a probability distribution (values in [0, 1], rows summing to 1): attacks and AutoAttack expect logits. Remove the final softmax before evaluating, or the cross-entropy gradients saturate and robustness is overestimated.',
      });
    }
    const spread = forwardPassSpread(model, x);
    if (spread.predictionsDiffer || spread.distance > (o.randomnessTolerance ?? 1e-4)) {
      out.push({
        check: 'randomness',
        message: `two forward passes on the same inputs differ (largest change of the normalised outputs ${spread.distance.toExponential(2)}${spread.predictionsDiffer ? ', and some predictions change' : ''}): a randomised model needs an evaluation that averages over its randomness (EOT); these attacks treat it as deterministic.`,
      });
    }
    const zero = zeroGradientCount(model, x, y);
    if (zero > 0) {
      out.push({
        check: 'zero-gradients',
        message: `${zero} of ${x.shape[0]} checked examples have an input gradient of exactly zero: gradient-based attacks cannot move them, so their robust accuracy is unreliable (a gradient-free attack such as Square tests them).`,
      });
    }
  } finally {
    tf.dispose([x, y]);
  }
  const classes = classCountProblem(outputCount(model) ?? data.numClasses, o.attacks ?? [], o.aa);
  if (classes) out.push({ check: 'classes', message: `${classes}; choose fewer targets (AutoAttack's targets) or other attacks.` });
  return out;
}

/** The model's number of outputs (classes), when its output shape says. */
function outputCount(model: tf.LayersModel): number | undefined {
  const shape = model.outputs[0]?.shape;
  return typeof shape?.[1] === 'number' ? shape[1] : undefined;
}
