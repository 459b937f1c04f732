/**
 * A&P (Mo, Wu, Wang, Guo, Wang, NeurIPS 2022: "When adversarial training meets vision
 * transformers") around PGD-AT, TRADES or MART, whose losses are unchanged: the training batch
 * comes from A&P's attack (src/attacks/ap.ts: ARD and PRM), with the keep rate r ramping linearly
 * from 0 to `dropRate` (1.0) over `rampEpochs` (the authors' n_w = 10), so early attacks are weak
 * and later ones are full PGD. The attack starts where its base's does: PGD's uniform start for
 * PGD-AT, 0.001·N(0, 1) for TRADES and MART. Defaults follow the authors' code (train_cifar.py).
 */
import * as tf from '@tensorflow/tfjs';
import { PgdOptions } from '../attacks/pgd';
import { apAttack, apRate } from '../attacks/ap';
import { oneOf, PiatError } from '../util/errors';
import { Rng } from '../util/rng';
import { Objective, ObjectiveContext } from './types';
import { trainingAttack } from './adversarial';
import { smallNoiseStart } from './kl';
import { pgdAt } from './pgd-at';
import { trades } from './trades';
import { mart } from './mart';

export interface ApOptions {
  base?: 'pgd-at' | 'trades' | 'mart';
  /** the ViT's patch size: PRM masks whole patches */
  patch: number;
  /** final keep rate r (default 1.0) */
  dropRate?: number;
  /** epochs over which r ramps up from 0 (default 10) */
  rampEpochs?: number;
  ard?: boolean;
  prm?: boolean;
  attack?: PgdOptions;
}

export function ap(o: ApOptions): Objective {
  const base = oneOf('A&P base', o.base ?? 'pgd-at', ['pgd-at', 'trades', 'mart'] as const);
  const attack = trainingAttack(o.attack);
  if (!(Number.isInteger(o.patch) && o.patch > 0))
    throw new PiatError('bad-option', `A&P needs the model's patch size (a whole number > 0), got ${o.patch}`);
  const dropRate = o.dropRate ?? 1;
  const rampEpochs = o.rampEpochs ?? 10;
  const ard = o.ard ?? true;
  const prm = o.prm ?? true;
  const inner = base === 'pgd-at' ? pgdAt({ attack }) : base === 'trades' ? trades({ attack }) : mart({ attack });

  function adversarial(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, ctx: ObjectiveContext): tf.Tensor {
    // the attack's own random source is drawn before its base's start, as the original order had it
    const rng = new Rng(ctx.rng.seed());
    const start = base === 'pgd-at' ? undefined : smallNoiseStart(x, ctx);
    try {
      return apAttack(model, x, y, {
        attack,
        patch: o.patch,
        keep: apRate(ctx.epoch, dropRate, rampEpochs),
        ard,
        prm,
        loss: base === 'trades' ? 'kl' : 'ce',
        start,
        rng,
      });
    } finally {
      start?.dispose();
    }
  }

  return {
    name: `${inner.name}+ap`,
    config: { base, patch: o.patch, dropRate, rampEpochs, ard, prm, inner: inner.config },
    adversarial,
    loss: (model, x, xAdv, y, ctx) => inner.loss(model, x, xAdv, y, ctx),
  };
}
