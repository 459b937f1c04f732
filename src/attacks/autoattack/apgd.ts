/**
 * APGD (Croce & Hein, ICML 2020), L∞ and L2, as the reference implementation (fra31/auto-attack,
 * autopgd_base.py) runs it:
 *  - start x + ε·t/‖t‖ (t uniform in [−1,1] for L∞, Gaussian for L2), step size η = 2ε
 *  - momentum: x_{k+1} = Π(x_k + 0.75·(Π(x_k + η·s(∇)) − x_k) + 0.25·(x_k − x_{k−1})), 1.0 at k = 0
 *  - checkpoints every k iterations, k starting at ⌈0.22·N⌉ (int), shrinking by 0.03·N down to
 *    0.06·N; at a checkpoint, examples whose loss rose in ≤ 75 % of the last k steps, or that did
 *    not improve since a checkpoint that did not halve, get η/2 and restart from their best point
 *  - returns, per example, the first misclassified iterate found (else the input)
 * Random numbers come from tfjs seeded ops, not torch's generator: results agree statistically
 * with the reference, not bit for bit.
 */
import * as tf from '@tensorflow/tfjs';
import { logits } from '../../models/forward';
import { crossEntropyPerExample } from '../losses';
import { dlrLoss, dlrTargetedLoss } from './losses';
import { Norm, project, toUnitNorm } from '../projection';
import { roundsOnRobust, rankedTarget, RoundResult } from './rounds';

export type ApgdLoss = 'ce' | 'dlr' | 'dlr-targeted';

export interface ApgdOptions {
  eps: number;
  norm?: Norm;
  /** iterations N (100 in AutoAttack) */
  steps?: number;
  restarts?: number;
  loss?: ApgdLoss;
  /** oscillation threshold ρ (0.75) */
  rho?: number;
  seed?: number;
}

/** APGD's checkpoint schedule: p_0 = 0 and the iterations at which η may be halved. */
export function apgdCheckpoints(n: number): number[] {
  let k = Math.max(Math.floor(0.22 * n), 1);
  const minK = Math.max(Math.floor(0.06 * n), 1);
  const decr = Math.max(Math.floor(0.03 * n), 1);
  const out: number[] = [];
  let counter = 0;
  for (let i = 0; i < n; i++) {
    counter++;
    if (counter === k) {
      out.push(i);
      counter = 0;
      k = Math.max(k - decr, minK);
    }
  }
  return out;
}

const bcast = (m: tf.Tensor, like: tf.Tensor) =>
  tf.broadcastTo(tf.reshape(m, [m.shape[0], ...like.shape.slice(1).map(() => 1)]), like.shape);
const select = (mask: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.where(tf.cast(bcast(mask, a), 'bool'), a, b);

interface RunResult {
  /** per example: 1 still correctly classified at every iterate */
  robust: boolean[];
  xBestAdv: tf.Tensor;
  lossBest: number[];
}

/** One APGD run on x (all examples attacked). */
export function apgdSingleRun(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor1D,
  o: Required<Pick<ApgdOptions, 'eps' | 'norm' | 'steps' | 'loss' | 'rho'>> & { seed: number; target?: tf.Tensor1D },
): RunResult {
  const n = x.shape[0];
  const N = o.steps;
  const lossFn = (z: tf.Tensor2D) =>
    o.loss === 'ce' ? crossEntropyPerExample(z, y) : o.loss === 'dlr' ? dlrLoss(z, y) : dlrTargetedLoss(z, y, o.target as tf.Tensor1D);
  const valueAndGrad = (xa: tf.Tensor) =>
    tf.tidy(() => {
      let loss: tf.Tensor1D | null = null;
      let pred: tf.Tensor | null = null;
      const g = tf.grad((inp: tf.Tensor) => {
        const z = logits(model, inp, false);
        loss = tf.keep(lossFn(z));
        pred = tf.keep(tf.argMax(z, 1));
        return tf.sum(loss);
      })(xa);
      const l = Array.from((loss as unknown as tf.Tensor).dataSync());
      const correct = Array.from(tf.equal(pred as unknown as tf.Tensor, y).dataSync()).map(Boolean);
      tf.dispose([loss as unknown as tf.Tensor, pred as unknown as tf.Tensor]);
      return { grad: tf.keep(g), loss: l, correct };
    });

  let xAdv = tf.tidy(() => {
    const t =
      o.norm === 'linf'
        ? tf.sub(tf.mul(tf.randomUniform(x.shape, 0, 1, 'float32', o.seed), 2), 1)
        : tf.randomNormal(x.shape, 0, 1, 'float32', o.seed);
    return tf.clipByValue(tf.add(x, tf.mul(toUnitNorm(t, o.norm), o.eps)), 0, 1);
  });
  let xBest = tf.clone(xAdv);
  let xBestAdv = tf.clone(xAdv);
  const first = valueAndGrad(xAdv);
  let grad = first.grad;
  let gradBest = tf.clone(grad);
  const robust = first.correct.slice();
  let lossBest = first.loss.slice();
  const lossSteps: number[][] = Array.from({ length: N }, () => new Array(n).fill(0));
  const stepSize = new Array(n).fill(2 * o.eps);
  let xAdvOld = tf.clone(xAdv);
  let k = Math.max(Math.floor(0.22 * N), 1);
  const minK = Math.max(Math.floor(0.06 * N), 1);
  const decr = Math.max(Math.floor(0.03 * N), 1);
  let counter3 = 0;
  let lossBestLastCheck = lossBest.slice();
  let reducedLastCheck = new Array(n).fill(true);

  for (let i = 0; i < N; i++) {
    const a = i > 0 ? 0.75 : 1.0;
    const next = tf.tidy(() => {
      const eta = tf.tensor1d(stepSize);
      const grad2 = tf.sub(xAdv, xAdvOld);
      const dir = o.norm === 'linf' ? tf.sign(grad) : toUnitNorm(grad, 'l2');
      const z = project(tf.add(xAdv, tf.mul(bcast(eta, x), dir)), x, o.eps, o.norm, [0, 1]);
      return project(tf.add(tf.add(xAdv, tf.mul(tf.sub(z, xAdv), a)), tf.mul(grad2, 1 - a)), x, o.eps, o.norm, [0, 1]);
    });
    xAdvOld.dispose();
    xAdvOld = xAdv;
    xAdv = next;

    const r = valueAndGrad(xAdv);
    grad.dispose();
    grad = r.grad;
    const fooled = tf.tensor1d(r.correct.map((c) => (c ? 0 : 1)));
    const improved = tf.tensor1d(r.loss.map((l, j) => (l > lossBest[j] ? 1 : 0)));
    const [nba, nb, ngb] = tf.tidy(() => [select(fooled, xAdv, xBestAdv), select(improved, xAdv, xBest), select(improved, grad, gradBest)]);
    tf.dispose([xBestAdv, xBest, gradBest, fooled, improved]);
    xBestAdv = nba;
    xBest = nb;
    gradBest = ngb;
    r.correct.forEach((c, j) => (robust[j] = robust[j] && c));
    lossSteps[i] = r.loss;
    lossBest = lossBest.map((lb, j) => (r.loss[j] > lb ? r.loss[j] : lb));

    counter3++;
    if (counter3 === k) {
      // oscillation: the loss rose in at most ρ·k of the last k steps (Python's negative index
      // reaches the not-yet-written last row at the first checkpoint, as in the reference)
      const at = (row: number) => lossSteps[(row + N) % N];
      const reduce = new Array(n).fill(false);
      for (let j = 0; j < n; j++) {
        let rises = 0;
        for (let c = 0; c < k; c++) if (at(i - c)[j] > at(i - c - 1)[j]) rises++;
        const osc = rises <= k * o.rho;
        const noImprovement = !reducedLastCheck[j] && lossBestLastCheck[j] >= lossBest[j];
        reduce[j] = osc || noImprovement;
      }
      reducedLastCheck = reduce;
      lossBestLastCheck = lossBest.slice();
      if (reduce.some(Boolean)) {
        reduce.forEach((rd, j) => rd && (stepSize[j] /= 2));
        const m = tf.tensor1d(reduce.map((rd) => (rd ? 1 : 0)));
        const [nx, ng] = tf.tidy(() => [select(m, xBest, xAdv), select(m, gradBest, grad)]);
        tf.dispose([xAdv, grad, m]);
        xAdv = nx;
        grad = ng;
      }
      k = Math.max(k - decr, minK);
      counter3 = 0;
    }
  }
  tf.dispose([xAdv, xAdvOld, xBest, grad, gradBest]);
  return { robust, xBestAdv, lossBest };
}

/**
 * Untargeted APGD with restarts on the examples not yet fooled; returns adversarial inputs (the
 * clean input where no attack succeeded) and which examples stayed robust.
 */
export function apgd(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, o: ApgdOptions): { adv: tf.Tensor; robust: boolean[] } {
  const opts = { eps: o.eps, norm: o.norm ?? 'linf', steps: o.steps ?? 100, loss: o.loss ?? 'ce', rho: o.rho ?? 0.75 } as const;
  return roundsOnRobust(model, x, y, o.restarts ?? 1, (xs, ys, r) =>
    asRound(apgdSingleRun(model, xs, ys, { ...opts, seed: (o.seed ?? 0) * 1000 + r })),
  );
}

/** A run's result as a round of roundsOnRobust. */
function asRound(res: RunResult): RoundResult {
  return { adv: res.xBestAdv, fooled: res.robust.map((v) => !v) };
}

/** APGD-T: targeted DLR towards each of the `targets` most likely wrong classes in turn. */
export function apgdTargeted(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor1D,
  o: Omit<ApgdOptions, 'loss'> & { targets?: number },
): { adv: tf.Tensor; robust: boolean[] } {
  const opts = { eps: o.eps, norm: o.norm ?? 'linf', steps: o.steps ?? 100, loss: 'dlr-targeted', rho: o.rho ?? 0.75 } as const;
  const restarts = o.restarts ?? 1;
  // round k: target rank t = 2 + ⌊k / restarts⌋ (the t-th largest clean logit), restart k mod restarts
  return roundsOnRobust(model, x, y, (o.targets ?? 9) * restarts, (xs, ys, k) => {
    const t = 2 + Math.floor(k / restarts);
    const target = rankedTarget(model, xs, t);
    const res = apgdSingleRun(model, xs, ys, { ...opts, seed: (o.seed ?? 0) * 1000 + t * 10 + (k % restarts), target });
    target.dispose();
    return asRound(res);
  });
}
