/**
 * Projected GPU hours of the paper profile, per notebook, from a committed bench result (`npm run
 * bench` on a GPU machine, bench/results/*.md): each notebook's new runs (paper-plan.ts) cost their
 * training epochs at the bench's PGD-10 training throughput, their per-epoch evaluations (clean +
 * PGD-20 on the test, training and held-out subsets) and their final evaluations of Best and Final
 * (clean, PGD-20, CW-20 and AutoAttack) at its forward and input-gradient throughputs.
 *
 * AutoAttack's cost depends on how many images survive each attack; the projection assumes 80 %
 * clean-correct and 50 % robust (the paper's ResNet-18 range): APGD-CE 100 iterations on the
 * clean-correct images, then APGD-T and FAB-T (9 targets × 100 iterations each, one input
 * gradient per iteration) and Square (5000 forward queries) on the robust ones. The numbers are
 * projections, labelled so; the cell timeout of the notebook runner is sized from them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { OFFICIAL_TRAIN_SIZE } from '../data/images';
import { PiatError } from '../util/errors';
import { PROJECT_ROOT } from './profiles';
import { NotebookPlan, paperPlan } from './paper-plan';
import { PoolConfig } from './pool';

/** The bench result the README's projection reads (an H200, torch backend and PyTorch in the same run). */
export const PAPER_COST_BENCH = path.join(PROJECT_ROOT, 'bench', 'results', 'gpu-h200-2026-11-26-bench.md');

const CLEAN_CORRECT = 0.8;
const ROBUST = 0.5;
/** AutoAttack (standard): input-gradient passes and forward passes per image, under the assumptions above. */
const AA_GRADS = CLEAN_CORRECT * 100 + ROBUST * (9 * 100 + 9 * 100);
const AA_FORWARDS = ROBUST * 5000;

/** img/s per architecture and case, for one backend. */
export type Throughput = Record<string, { forward: number; inputGrad: number; pgd10Train: number }>;

/**
 * The rows of a bench result's throughput table (`| model | case | backend | threads | img/s | …`), per
 * backend; where it has several thread counts, the last (the most threads). The bench's other tables
 * (speed-ups, kernel calls) have other columns in the same places and are not read.
 */
export function readBench(file: string): Record<string, Throughput> {
  if (!fs.existsSync(file))
    throw new PiatError('missing-file', `No bench result at ${file}; run \`npm run bench\` on the GPU machine and commit its output.`);
  const out: Record<string, Throughput> = {};
  const key = { forward: 'forward', 'input-grad': 'inputGrad', 'pgd10-train': 'pgd10Train' } as const;
  let inThroughput = false;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (/^\| model \| case \| backend \| threads \| img\/s \|/.test(line)) inThroughput = true;
    else if (!line.startsWith('|')) inThroughput = false;
    if (!inThroughput) continue;
    const cells = line.split('|').map((c) => c.trim());
    const [, model, kase, backend, , ips] = cells;
    if (!(kase in key) || !Number.isFinite(Number(ips)) || !ips) continue;
    out[backend] ??= {};
    out[backend][model] ??= { forward: NaN, inputGrad: NaN, pgd10Train: NaN };
    out[backend][model][key[kase as keyof typeof key]] = Number(ips);
  }
  return out;
}

/** The device a bench result ran on, read from its header (`… on cuda at 16 thread(s)`); GPU hours are projected only from a cuda bench. */
export function benchDevice(file: string): 'cuda' | 'cpu' | 'unknown' {
  const head = fs.readFileSync(file, 'utf8').split('\n|')[0];
  return /\bon cuda\b/.test(head) ? 'cuda' : /\bon cpu\b/.test(head) ? 'cpu' : 'unknown';
}

/** Seconds one run of `config` takes at these throughputs, or undefined where the architecture was not benchmarked. */
export function runSeconds(c: PoolConfig, t: Throughput): number | undefined {
  const r = t[c.arch];
  if (!r || ![r.forward, r.inputGrad, r.pgd10Train].every(Number.isFinite)) return undefined;
  // the paper profile trains on all official training images but the held-out Best split
  const trainImages = OFFICIAL_TRAIN_SIZE[c.dataset] - (c.validationSize ?? 0);
  const evaluated = c.testSize + (c.trainEvalSize ?? 0) + (c.validationSize ?? 0);
  const pgd = (steps: number) => steps / r.inputGrad + 1 / r.forward;
  const perEpoch = trainImages / r.pgd10Train + evaluated * (1 / r.forward + pgd(c.evalAttack.steps));
  const final = 2 * c.final.n * (1 / r.forward + 2 * pgd(20) + AA_GRADS / r.inputGrad + AA_FORWARDS / r.forward);
  return c.epochs * perEpoch + final;
}

export interface NotebookCost {
  notebook: string;
  runs: number;
  /** projected hours per backend of the bench (undefined: an architecture was not benchmarked) */
  hours: Record<string, number | undefined>;
  /** the notebook runner's per-cell timeout at the paper profile: twice the torch backend's projection (at least 2 hours; 48 hours where not projected) */
  cellTimeoutSeconds: number;
}

export function paperCost(bench = readBench(PAPER_COST_BENCH), plan: NotebookPlan[] = paperPlan()): NotebookCost[] {
  return plan.map(({ notebook, newRuns }) => {
    const hours: Record<string, number | undefined> = {};
    for (const [backend, t] of Object.entries(bench)) {
      const secs = newRuns.map((r) => runSeconds(r.config, t));
      hours[backend] = secs.some((s) => s === undefined) ? undefined : secs.reduce((a, b) => a! + b!, 0)! / 3600;
    }
    const torch = hours.torch;
    // the pool-training cell holds nearly all of a notebook's time: twice its projection leaves room for a slower GPU
    const cellTimeoutSeconds = torch === undefined ? 48 * 3600 : Math.max(2, Math.ceil(2 * torch)) * 3600;
    return { notebook, runs: newRuns.length, hours, cellTimeoutSeconds };
  });
}

/** Column heads of the backends a bench may hold, in table order (the fused model's rows where the bench timed it). */
const COST_COLUMNS: [string, string][] = [
  ['torch', 'piat-ts (torch)'],
  ['torch fused', 'piat-ts (torch, PIAT_FUSED_MODEL=1)'],
  ['pytorch', 'PyTorch'],
];

const HOURS: Record<ReturnType<typeof benchDevice>, string> = { cuda: 'GPU hours', cpu: 'CPU hours', unknown: 'hours' };

/** The README's paper-profile table: a column per backend the bench holds (torch and PyTorch always). */
export function paperCostSection(costs = paperCost(), bench = PAPER_COST_BENCH): string {
  const h = (x: number | undefined) => (x === undefined ? 'not benchmarked' : x.toFixed(1));
  const columns = COST_COLUMNS.filter(([b]) => b !== 'torch fused' || costs.some((c) => b in c.hours));
  // a CPU bench projects CPU hours: the column heads say which
  const unit = HOURS[fs.existsSync(bench) ? benchDevice(bench) : 'unknown'];
  const lines = [
    `Projected from \`${path.relative(PROJECT_ROOT, bench)}\` (${bench === PAPER_COST_BENCH ? 'one H200; ' : ''}this project's torch backend and PyTorch measured in the same run) by \`src/experiments/paper-cost.ts\`: training, per-epoch evaluation and the final evaluation of Best and Final with AutoAttack (assumed 80 % clean-correct, 50 % robust). Runs shared with an earlier notebook are counted once, where first trained. The ViTs of Table IV were not benchmarked.`,
    '',
    `| notebook | new runs | ${columns.map(([, head]) => `${unit}, ${head}`).join(' | ')} | cell timeout |`,
    `|---|---|${columns.map(() => '---|').join('')}---|`,
    ...costs.map(
      (c) =>
        `| \`${c.notebook}\` | ${c.runs} | ${columns.map(([b]) => h(c.hours[b])).join(' | ')} | ${Math.round(c.cellTimeoutSeconds / 3600)} h${c.hours.torch === undefined ? ' (not projected: set --timeout)' : ''} |`,
    ),
  ];
  const sum = (b: string) => costs.reduce((a, c) => a + (c.hours[b] ?? 0), 0);
  lines.push(`| all (benchmarked) | ${costs.reduce((a, c) => a + c.runs, 0)} | ${columns.map(([b]) => sum(b).toFixed(0)).join(' | ')} | |`);
  return lines.join('\n');
}
