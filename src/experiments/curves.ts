/**
 * Fig. 1 of the paper: robust test accuracy per epoch of PGD-AT, TRADES, MART and PIAT+NMSE
 * (oscillation early in training, robust overfitting late). The paper's figure is CIFAR-10 with
 * ResNet-18; the quick and smoke profiles use Fashion-MNIST (embedded, Debian) and a small CNN at
 * ε = 0.1, sized for a 2-core CPU.
 */
import { DatasetName, loadDataset } from '../data/images';
import { resnet18, smallCnn } from '../models/resnet';
import { pgdAt } from '../objectives/pgd-at';
import { trades } from '../objectives/trades';
import { mart } from '../objectives/mart';
import { nmse } from '../objectives/nmse';
import { piat } from '../piat/hook';
import { TrainingSetup, trainConfigOf } from './setup';
import { Profile, runRoot } from './profiles';
import { compareMethods, MethodRun, MethodSpec } from './compare-methods';
import { oscillation } from '../analysis/oscillation';

export interface CurvesConfig extends TrainingSetup {
  dataset: DatasetName;
  model: 'small-cnn' | 'resnet18';
  widths?: [number, number, number];
}

const FMNIST_EPS = 0.1;

export const CURVES_PROFILES: Record<Profile, CurvesConfig> = {
  smoke: {
    dataset: 'fashion-mnist', trainSize: 256, testSize: 100, model: 'small-cnn', widths: [8, 16, 32], epochs: 2, batchSize: 64,
    lr: 0.05, weightDecay: 5e-4, lrSchedule: { kind: 'constant' },
    attack: { eps: FMNIST_EPS, alpha: FMNIST_EPS / 2, steps: 3 }, evalAttack: { eps: FMNIST_EPS, alpha: FMNIST_EPS / 4, steps: 5 }, seed: 1,
  },
  quick: {
    dataset: 'fashion-mnist', trainSize: 2000, testSize: 300, model: 'small-cnn', widths: [16, 32, 64], epochs: 10, batchSize: 100,
    lr: 0.05, weightDecay: 5e-4, lrSchedule: { kind: 'piecewise', milestones: [7] },
    attack: { eps: FMNIST_EPS, alpha: FMNIST_EPS / 2.5, steps: 5 }, evalAttack: { eps: FMNIST_EPS, alpha: FMNIST_EPS / 4, steps: 10 }, seed: 1,
  },
  // the paper's setting (ResNet-18: LR 0.01, ÷10 at 60 and 90, 120 epochs); evaluation on 1000 test images
  paper: {
    dataset: 'cifar10', testSize: 1000, model: 'resnet18', epochs: 120, batchSize: 128, lr: 0.01, weightDecay: 5e-4,
    lrSchedule: { kind: 'piecewise', milestones: [60, 90] },
    attack: { eps: 8 / 255, alpha: 2 / 255, steps: 10 }, evalAttack: { eps: 8 / 255, alpha: 2 / 255, steps: 20 }, microBatchSize: 32, seed: 1,
  },
};

export const CURVE_METHODS = ['PGD-AT', 'TRADES', 'MART', 'PIAT+NMSE'] as const;

export function curveMethods(c: CurvesConfig): MethodSpec[] {
  return [
    { name: 'PGD-AT', objective: () => pgdAt({ attack: c.attack }) },
    { name: 'TRADES', objective: () => trades({ attack: c.attack }) },
    { name: 'MART', objective: () => mart({ attack: c.attack }) },
    { name: 'PIAT+NMSE', objective: () => nmse({ attack: c.attack }), hooks: () => [piat()] },
  ];
}

export async function runCurvesExperiment(profile: Profile, opts: { config?: CurvesConfig; progress?: boolean } = {}): Promise<MethodRun[]> {
  const c = opts.config ?? CURVES_PROFILES[baseProfile(profile)];
  let train = loadDataset(c.dataset, 'train');
  if (c.trainSize) train = train.take(c.trainSize);
  const test = loadDataset(c.dataset, 'test').take(c.testSize);
  const shape = train.inputShape as [number, number, number];
  return compareMethods({
    methods: curveMethods(c),
    model: () => (c.model === 'resnet18' ? resnet18({ numClasses: 10, inputShape: shape, seed: c.seed }) : smallCnn({ numClasses: 10, inputShape: shape, widths: c.widths, seed: c.seed })),
    train,
    test,
    root: runRoot('02-oscillation-curves', profile),
    meta: { experiment: '02-oscillation-curves', profile, curves: c },
    progress: opts.progress,
    config: trainConfigOf(c),
  });
}

/** Best/final robust accuracy, their gap (robust overfitting) and oscillation, per method, in percent. */
export function curvesTable(runs: MethodRun[]) {
  return runs.map((r) => {
    const rob = r.records.map((e) => e.robustAcc ?? 0);
    const best = Math.max(...rob);
    const final = rob[rob.length - 1];
    const early = oscillation(rob.slice(0, Math.max(2, Math.ceil(rob.length / 2))));
    return {
      method: r.method,
      best_robust: 100 * best,
      best_epoch: rob.indexOf(best) + 1,
      final_robust: 100 * final,
      best_minus_final: 100 * (best - final),
      std_change_first_half: 100 * early.stdOfChanges,
      final_clean: 100 * (r.records[r.records.length - 1].cleanAcc ?? NaN),
    };
  });
}

/** Markdown: the paper's Fig. 1 claims against this run. */
export function curvesSummary(runs: MethodRun[]): string {
  const t = curvesTable(runs);
  const by = (m: string) => t.find((r) => r.method === m);
  const piatRow = by('PIAT+NMSE');
  const others = t.filter((r) => r.method !== 'PIAT+NMSE');
  const f = (v: number) => v.toFixed(1);
  const lines = [
    '**Paper (Sec. I, Fig. 1, CIFAR-10):** PGD-AT, TRADES and MART show clear oscillation of robust accuracy early in training and robust overfitting late (robust test accuracy falls while training accuracy rises); PIAT(+NMSE) is smoother and ends higher.',
    '',
    '| method | best robust | at epoch | final robust | best − final | std of changes (first half) |',
    '|---|---|---|---|---|---|',
    ...t.map((r) => `| ${r.method} | ${f(r.best_robust)}% | ${r.best_epoch} | ${f(r.final_robust)}% | ${f(r.best_minus_final)} pts | ${f(r.std_change_first_half)} pts |`),
  ];
  if (piatRow && others.length) {
    const smoother = others.filter((r) => piatRow.std_change_first_half < r.std_change_first_half).map((r) => r.method);
    const higher = others.filter((r) => piatRow.final_robust > r.final_robust).map((r) => r.method);
    lines.push(
      '',
      `**Here:** PIAT+NMSE oscillates less early on than ${smoother.length ? smoother.join(', ') : 'none of the others'}` +
        ` and ends with higher robust accuracy than ${higher.length ? higher.join(', ') : 'none of the others'}.` +
        (smoother.length === others.length && higher.length === others.length ? ' Both claims **agree** on this run.' : ' Where a method is not listed, the claim **does not hold** on this run.'),
    );
  }
  return lines.join('\n');
}
