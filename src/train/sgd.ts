/**
 * SGD with momentum and weight decay, PyTorch semantics (so numbers line up with the paper's
 * code): d = g + wd·θ;  v ← μ·v + d;  θ ← θ − lr·(nesterov ? d + μ·v : v).
 * Its state (one velocity per weight) is exposed so checkpoints can save and restore it.
 *
 * On the torch backend one native call updates every weight (as PyTorch's foreach SGD: the same
 * operations in the same order on the same float32 scalars, so the weights are bit-identical on the
 * CPU); elsewhere, or with the backend's `foreachSgd` off, each weight takes ~4 tfjs ops, the
 * reference path.
 */
import * as tf from '@tensorflow/tfjs';
import { PiatError } from '../util/errors';
import type { ForeachSgdBackend } from '../backend/torch/backend';

export interface SgdOptions {
  /** base learning rate (the LR schedule scales from it) */
  lr: number;
  /** default 0.9, the paper's */
  momentum?: number;
  /** L2 weight decay added to the gradient (default 0) */
  weightDecay?: number;
  nesterov?: boolean;
  /** apply weight decay to biases and BN γ/β too (default true, as PyTorch's plain SGD does) */
  decayBiasAndNorm?: boolean;
}

export function validateSgd(o: SgdOptions): void {
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw new PiatError('bad-option', `optimizer.lr must be a positive number, got ${o.lr}`);
  const m = o.momentum ?? 0.9;
  if (!(m >= 0 && m < 1)) throw new PiatError('bad-option', `optimizer.momentum must be in [0, 1), got ${m}`);
  const wd = o.weightDecay ?? 0;
  if (!(wd >= 0 && Number.isFinite(wd))) throw new PiatError('bad-option', `optimizer.weightDecay must be >= 0, got ${wd}`);
}

/** Biases and batch-norm scale/offset: exempt from decay when decayBiasAndNorm is false. */
function isBiasOrNorm(name: string): boolean {
  return /(bias|gamma|beta)(_\d+)?$/.test(name);
}

/** The current backend when it updates all weights in one call and is asked to (the torch backend). */
function foreachBackend(): ForeachSgdBackend | null {
  const b = tf.backend() as unknown as Partial<ForeachSgdBackend>;
  return typeof b.sgdStep === 'function' && b.foreachSgd === true ? (b as ForeachSgdBackend) : null;
}

export class Sgd {
  readonly momentum: number;
  readonly weightDecay: number;
  private velocity: tf.Variable[] | null = null;

  constructor(readonly opts: SgdOptions) {
    validateSgd(opts);
    this.momentum = opts.momentum ?? 0.9;
    this.weightDecay = opts.weightDecay ?? 0;
  }

  /** One update of `vars` with `grads` (same order) at learning rate `lr`. */
  step(vars: tf.Variable[], grads: tf.Tensor[], lr: number): void {
    // tidy: tf.variable copies its initial value, the zerosLike tensor itself must not outlive this line
    if (!this.velocity) this.velocity = tf.tidy(() => vars.map((v) => tf.variable(tf.zerosLike(v), false)));
    const vel = this.velocity;
    const decays = vars.map((p) => this.weightDecay > 0 && (this.opts.decayBiasAndNorm !== false || !isBiasOrNorm(p.name)));
    const fused = foreachBackend();
    const hyper = { lr, momentum: this.momentum, weightDecay: this.weightDecay, nesterov: this.opts.nesterov === true };
    if (fused?.sgdStep(vars, grads, this.momentum > 0 ? vel : null, decays, hyper)) return;
    tf.tidy(() => {
      vars.forEach((p, i) => {
        const d = decays[i] ? tf.add(grads[i], tf.mul(p, this.weightDecay)) : grads[i];
        const v = this.momentum > 0 ? tf.add(tf.mul(vel[i], this.momentum), d) : d;
        if (this.momentum > 0) vel[i].assign(v);
        const upd = this.opts.nesterov ? tf.add(d, tf.mul(v, this.momentum)) : v;
        p.assign(tf.sub(p, tf.mul(upd, lr)));
      });
    });
  }

  /** Velocity tensors (null before the first step). */
  getState(): tf.Tensor[] | null {
    return this.velocity;
  }

  setState(vars: tf.Variable[], state: tf.Tensor[] | null): void {
    this.dispose();
    if (!state) return;
    if (state.length !== vars.length) {
      throw new PiatError('bad-checkpoint', `optimizer state has ${state.length} tensors, the model has ${vars.length} trainable weights`);
    }
    this.velocity = state.map((t) => tf.variable(t, false));
    tf.dispose(state);
  }

  dispose(): void {
    this.velocity?.forEach((v) => v.dispose());
    this.velocity = null;
  }
}
