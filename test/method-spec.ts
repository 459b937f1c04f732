/**
 * The settings the notebooks' methods must train with, written down once with their sources, so
 * that test/experiments/method-spec.test.ts can check every method the pool builds against them. Tags as in
 * docs/METHOD.md ("Tags"): READ (the paper's text), PORT (the unofficial PyTorch port from the
 * authors' lab), CHOSEN (decided here); AUTHORS marks a baseline's value taken from that baseline's
 * own authors' code (docs/METHOD.md, "Objectives", "authors' code").
 *
 * These values are typed out here on purpose rather than imported from src/: a refactor that
 * changes a default in src/ has to change this file too, in the open.
 */
import type { Profile } from '../src/experiments/profiles';
import { isArchOf } from '../src/models/registry';

export type Tag = 'READ' | 'PORT' | 'CHOSEN' | 'AUTHORS';

export interface Setting<T> {
  value: T;
  tag: Tag;
  source: string;
}

const set = <T>(value: T, tag: Tag, source: string): Setting<T> => ({ value, tag, source });

/** The objectives' settings (the same at every profile). */
export const OBJECTIVE_SPEC = {
  trades: {
    beta: set(6, 'READ', "TRADES β = 6 in the paper's tables (Zhang et al. 2019)"),
  },
  mart: {
    lambda: set(6, 'AUTHORS', "MART's λ (its code's --beta 6.0; Wang et al. 2020, YisenWang/MART)"),
  },
  mail: {
    base: set('pgd-at' as const, 'CHOSEN', "the paper does not say which MAIL variant it ran; MAIL-AT (the authors' --method mail-at)"),
    bias: set(-1.5, 'AUTHORS', 'QizhouWang/MAIL train.py --bias -1.5'),
    slope: set(1, 'AUTHORS', 'QizhouWang/MAIL train.py --slope 1.0'),
    beta: set(5, 'AUTHORS', 'QizhouWang/MAIL train.py --beta 5.0 (used by the trades and mart bases only)'),
    /** the reweighting starts after this fraction of the run; the epochs per run are in RUN_SPEC */
    burnInFraction: set(
      75 / 120,
      'AUTHORS',
      'QizhouWang/MAIL train.py: begin_epoch = 75 if args.epochs == 120 (it loads the base method and runs MAIL from epoch 75 of 120)',
    ),
  },
  cfa: {
    base: set('trades' as const, 'AUTHORS', 'PKU-ML/CFA train.py --mode TRADES'),
    ccm: set(true, 'AUTHORS', 'PKU-ML/CFA train.py --ccm'),
    ccr: set(true, 'AUTHORS', 'PKU-ML/CFA train.py --ccr'),
    lambda1: set(0.5, 'AUTHORS', 'PKU-ML/CFA train.py --lambda-1 0.5'),
    lambda2: set(0.5, 'AUTHORS', 'PKU-ML/CFA train.py --lambda-2 0.5'),
    beta: set(6, 'AUTHORS', 'PKU-ML/CFA train.py --beta 6'),
    fawaDecay: set(0.88, 'AUTHORS', 'PKU-ML/CFA train.py --decay-rate 0.88'),
    fawaThreshold: set(0.24, 'AUTHORS', 'PKU-ML/CFA train.py --threshold 0.24'),
    /** FAWA's validation attack: PGD-10 with a random start at the training threat model */
    fawaSteps: set(10, 'AUTHORS', 'PKU-ML/CFA train.py: eval_epoch(..., pgd_loss, 8/255, ..., 2/255, 10) on the validation set'),
  },
  rat: {
    alpha: set(0.2, 'AUTHORS', 'Alexkael/Randomized-Adversarial-Training train_first_second.py --alpha 0.2'),
    beta: set(6, 'AUTHORS', 'Alexkael/Randomized-Adversarial-Training train_first_second.py --beta 6.0'),
    weightNoise: set(1e-4, 'AUTHORS', 'Alexkael/Randomized-Adversarial-Training trades_first_second.py: conv weights + 0.0001·N(0, 1)'),
  },
  nmse: {
    lambda: set(4, 'PORT', "the paper's Eq. 12 weight; λ = 4 from the port (PAPER-NOTES, docs/METHOD.md)"),
    reduction: set('sum' as const, 'PORT', "sum over the K classes, the port's form that λ = 4 was tuned with ('mean' is the option)"),
    ce: set('adversarial' as const, 'READ', 'the text: λ trades off "the cross entropy loss on adversarial examples" and NMSE'),
  },
  alp: {
    lambda: set(1, 'CHOSEN', "the paper's Eq. 8 gives no λ; 1 is the neutral weight (docs/METHOD.md)"),
  },
  ap: {
    dropRate: set(1, 'AUTHORS', "A&P's final keep rate 1.0 (Mo et al. 2022, train_cifar.py)"),
    ard: set(true, 'AUTHORS', 'A&P: attention random dropping on'),
    prm: set(true, 'AUTHORS', 'A&P: perturbation random masking on'),
  },
  piat: {
    schedule: set('dynamic' as const, 'PORT', "Eq. 10's dynamic β (fixed β only in Fig. 9's variants)"),
    betaMax: set(0.99, 'PORT', 'Eq. 10, β_max'),
    a: set(1, 'PORT', 'Eq. 10, a'),
    b: set(10, 'PORT', 'Eq. 10, b'),
    warmupEpochs: set(0, 'CHOSEN', 'the paper describes no warm-up (the port uses 10); docs/METHOD.md, "PIAT"'),
  },
};

/** What a run trains with at a profile, per network family (the pool's settings, src/experiments/pool.ts). */
export interface RunSpec {
  epochs: Setting<number>;
  /** the training attack (random start: PGD's default) */
  attack: Setting<{ eps: number; alpha: number; steps: number }>;
  /** MAIL's burn-in in epochs: round(75·epochs/120) */
  mailBurnInEpochs: Setting<number>;
  cfaBeginEpoch: Setting<number>;
  cfaValidation: Setting<number>;
  /** ViTs only */
  patch?: Setting<number>;
  apRampEpochs?: Setting<number>;
}

export type ArchFamily = 'cnn' | 'wrn' | 'vit';

const FMNIST = 'Fashion-MNIST at ε = 0.1 (docs/METHOD.md, "Threat models")';
const mailAt = (epochs: number, burnIn: number) => set(burnIn, 'AUTHORS', `75/120 of ${epochs} epochs, rounded`);

const SMOKE: RunSpec = {
  epochs: set(2, 'CHOSEN', 'smoke: CI-sized'),
  attack: set({ eps: 0.1, alpha: 0.05, steps: 3 }, 'CHOSEN', `smoke: PGD-3, step ε/2, ${FMNIST}`),
  mailBurnInEpochs: mailAt(2, 1),
  cfaBeginEpoch: set(1, 'CHOSEN', 'smoke: calibration after the first epoch'),
  cfaValidation: set(64, 'CHOSEN', 'smoke: 64 held-out images for FAWA'),
};
const QUICK: RunSpec = {
  epochs: set(8, 'CHOSEN', 'quick: 20 minutes a notebook on 2 cores'),
  attack: set({ eps: 0.1, alpha: 0.04, steps: 5 }, 'CHOSEN', `quick: PGD-5, step ε/2.5, ${FMNIST}`),
  mailBurnInEpochs: mailAt(8, 5),
  cfaBeginEpoch: set(1, 'CHOSEN', 'quick: calibration after the first epoch'),
  cfaValidation: set(200, 'CHOSEN', 'quick: 200 held-out images for FAWA'),
};
/** the small profiles' 2-block ViT: quick's attack lightened to PGD-3 at step ε/2 (notebook 05's time) */
const SMALL_VIT = (base: RunSpec, profile: 'smoke' | 'quick', apRampEpochs: number): RunSpec => ({
  ...base,
  attack:
    profile === 'smoke'
      ? base.attack
      : set({ eps: 0.1, alpha: 0.05, steps: 3 }, 'CHOSEN', `${profile} ViT: PGD-3, step ε/2 (pool.ts vitVariant)`),
  patch: set(7, 'CHOSEN', '7×7 patches on 28×28 images (16 tokens)'),
  apRampEpochs: set(apRampEpochs, 'CHOSEN', `a quarter of the run's ${base.epochs.value} epochs, at least 1 (the authors' 10 of 40)`),
});

export const RUN_SPEC: Record<Profile, Record<ArchFamily, RunSpec>> = {
  smoke: { cnn: SMOKE, wrn: SMOKE, vit: SMALL_VIT(SMOKE, 'smoke', 1) },
  quick: { cnn: QUICK, wrn: QUICK, vit: SMALL_VIT(QUICK, 'quick', 2) },
  overfit: (() => {
    const o: RunSpec = {
      epochs: set(120, 'CHOSEN', 'overfit: long enough for robust overfitting (docs/notebooks.md, "The overfit profile and its search")'),
      attack: set({ eps: 0.1, alpha: 0.05, steps: 5 }, 'CHOSEN', `overfit: PGD-5, step 2.5·ε/5, ${FMNIST}`),
      mailBurnInEpochs: mailAt(120, 75),
      cfaBeginEpoch: set(15, 'CHOSEN', 'overfit: the CFA start scaled to its 500-image run'),
      cfaValidation: set(100, 'CHOSEN', 'overfit: 100 held-out images for FAWA'),
    };
    // a ViT at overfit runs the quick ViT (no overfit-specific ViT setting)
    return { cnn: o, wrn: o, vit: SMALL_VIT(QUICK, 'quick', 2) };
  })(),
  paper: (() => {
    const attack = set({ eps: 8 / 255, alpha: 2 / 255, steps: 10 }, 'READ', 'PGD-10, ε = 8/255, α = 2/255 (the paper)');
    const cfaBeginEpoch = set(10, 'AUTHORS', 'PKU-ML/CFA train.py --begin 10');
    const cfaValidation = set(1000, 'CHOSEN', "1000 held-out training images for FAWA (the authors' validation split size is not matched)");
    return {
      cnn: { epochs: set(120, 'READ', 'ResNet-18: 120 epochs'), attack, mailBurnInEpochs: mailAt(120, 75), cfaBeginEpoch, cfaValidation },
      wrn: { epochs: set(180, 'READ', 'WRN: 180 epochs'), attack, mailBurnInEpochs: mailAt(180, 113), cfaBeginEpoch, cfaValidation },
      vit: {
        epochs: set(40, 'READ', 'ViTs: 40 epochs'),
        attack,
        mailBurnInEpochs: mailAt(40, 25),
        cfaBeginEpoch,
        cfaValidation,
        patch: set(4, 'CHOSEN', '4×4 patches on 32×32 images'),
        apRampEpochs: set(10, 'AUTHORS', "A&P's n_w = 10 epochs of ramp"),
      },
    };
  })(),
};

export function archFamily(arch: string): ArchFamily {
  if (arch === 'wrn34-10') return 'wrn';
  if (isArchOf('vit', arch)) return 'vit';
  return 'cnn';
}

/** β of the k-th interpolation under the spec's dynamic schedule: min(β_max, (k + a)/(k + b)). */
export function specBeta(k: number): number {
  const { betaMax, a, b } = OBJECTIVE_SPEC.piat;
  return Math.min(betaMax.value, (k + a.value) / (k + b.value));
}
