/**
 * The paper's toy example (Sec. III-A, Fig. 2-5): a one-hidden-layer MLP trained on 3-D
 * two-circles data with PGD-AT, PIAT, ALP, NMSE and PIAT+NMSE from the same seed.
 * SGD, momentum 0.9, LR 0.5, 50 epochs (READ). Data, ε, step and PGD steps are CHOSEN (the
 * paper's values were lost) such that PGD-AT visibly oscillates; see TOY_PROFILES in recipes.ts and
 * docs/METHOD.md, "The toy example".
 */
import * as path from 'path';
import { twoCircles } from '../data/toy';
import { ArrayDataset } from '../data/dataset';
import { buildModel } from '../models/registry';
import { loadModel } from '../train/model-io';
import { decisionBoundary, Segment } from '../analysis/boundary';
import { Profile, runRoot } from './profiles';
import { recipe, ToyConfig, TOY_PROFILES } from './recipes';
import { methodSpec } from './methods';
import { accuracyCurves, compareMethods, MethodRun } from './compare-methods';
import { hconcat, scatterChart } from '../plots/charts';
import { VegaLiteSpec } from '../plots/render';
import { claimIs, lessVariableVerdict } from '../stats';

export const TOY_METHODS = ['PGD-AT', 'PIAT', 'ALP', 'NMSE', 'PIAT+NMSE'] as const;
export type ToyMethod = (typeof TOY_METHODS)[number];

export function toyData(c: ToyConfig): { train: ArrayDataset; test: ArrayDataset } {
  return {
    train: twoCircles({ ...c.data, perClass: c.trainPerClass, seed: c.seed * 101 + 1 }),
    test: twoCircles({ ...c.data, perClass: c.testPerClass, seed: c.seed * 101 + 2 }),
  };
}

export type ToyRun = MethodRun & { method: ToyMethod };

/**
 * Trains every method (or re-uses finished runs under runs/01-toy-example/<profile>/).
 * All methods start from the same initial weights and see the same batches and attack seeds.
 */
export async function runToyExperiment(
  profile: Profile,
  opts: { config?: ToyConfig; methods?: readonly ToyMethod[]; root?: string; progress?: boolean } = {},
): Promise<ToyRun[]> {
  const c = opts.config ?? recipe(TOY_PROFILES, profile);
  const { train: trainSet, test } = toyData(c);
  const ctx = {
    attack: c.attack,
    numClasses: trainSet.numClasses,
    epochs: c.epochs,
    objectiveOptions: { alp: { lambda: c.alpLambda }, nmse: { lambda: c.nmseLambda } },
  };
  const runs = await compareMethods({
    methods: (opts.methods ?? TOY_METHODS).map((name) => methodSpec(name, ctx)),
    model: () =>
      buildModel('mlp', { numClasses: trainSet.numClasses, inputShape: trainSet.inputShape, seed: c.seed }, { hidden: [c.hidden] }),
    train: trainSet,
    test,
    root: opts.root ?? runRoot('01-toy-example', profile),
    meta: { experiment: '01-toy-example', profile, toy: c },
    progress: opts.progress,
    config: {
      epochs: c.epochs,
      batchSize: c.batchSize,
      seed: c.seed,
      optimizer: { lr: c.lr, momentum: c.momentum },
      eval: { n: test.size, attack: c.evalAttack },
      keepEpochCheckpoints: true,
    },
  });
  return runs as ToyRun[];
}

/** Per-epoch rows {method, epoch, metric, accuracy} for Fig. 3. */
export function toyCurves(runs: ToyRun[]) {
  return accuracyCurves(runs, 'robust (PGD-20)');
}

/** The decision boundary (x3 fixed at 0.5) of a run's weights before and after epoch `epoch`. */
export async function boundaryAroundEpoch(
  run: ToyRun,
  epoch: number,
  resolution = 120,
): Promise<(Segment & { method: string; when: string })[]> {
  const out: (Segment & { method: string; when: string })[] = [];
  for (const [when, e] of [
    [`before epoch ${epoch}`, epoch - 1],
    [`after epoch ${epoch}`, epoch],
  ] as const) {
    const model = await loadModel(path.join(run.runDir, 'epochs', `epoch-${String(e).padStart(3, '0')}`));
    for (const s of decisionBoundary(model, 3, { resolution, fixed: [0.5, 0.5, 0.5] })) out.push({ ...s, method: run.method, when });
    model.dispose();
  }
  return out;
}

/** Rows for the data figure: raw coordinates plus an oblique projection for a 3-D view. */
export function toyPoints(ds: ArrayDataset): { x1: number; x2: number; x3: number; px: number; py: number; label: string }[] {
  const f = ds.features;
  const rows = [];
  for (let i = 0; i < ds.size; i++) {
    const [x1, x2, x3] = [f[3 * i], f[3 * i + 1], f[3 * i + 2]];
    rows.push({ x1, x2, x3, ...project3d(x1, x2, x3), label: ds.labels[i] === 0 ? 'class 1 (red)' : 'class 2 (blue)' });
  }
  return rows;
}

/** Oblique projection of a point of [0,1]^3 (azimuth 35°, elevation 25°) to the plane. */
export function project3d(x: number, y: number, z: number): { px: number; py: number } {
  const az = (35 * Math.PI) / 180;
  const el = (25 * Math.PI) / 180;
  const cx = x - 0.5,
    cy = y - 0.5,
    cz = z - 0.5;
  const rx = cx * Math.cos(az) - cy * Math.sin(az);
  const ry = cx * Math.sin(az) + cy * Math.cos(az);
  return { px: rx, py: cz * Math.cos(el) + ry * Math.sin(el) };
}

/** The edges of the unit cube through the origin (the x1, x2, x3 axes), projected, for the 3-D view. */
export function projectedAxes(): { axis: string; x: number; y: number; x2: number; y2: number }[] {
  const o = project3d(0, 0, 0);
  return (
    [
      ['x1', project3d(1, 0, 0)],
      ['x2', project3d(0, 1, 0)],
      ['x3', project3d(0, 0, 1)],
    ] as const
  ).map(([axis, p]) => ({ axis, x: o.px, y: o.py, x2: p.px, y2: p.py }));
}

/** Markdown comparing this run with the paper's qualitative claim (PIAT oscillates less than PGD-AT). */
export function toySummary(runs: ToyRun[]): string {
  const by = (m: ToyMethod) => runs.find((r) => r.method === m);
  const pct = (v: number) => `${(100 * v).toFixed(1)}`;
  const lines = [
    '| method | final clean | final PGD-20 | best PGD-20 | std of epoch-to-epoch PGD-20 change | largest drop (epoch) |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    const last = r.records[r.records.length - 1];
    const best = Math.max(...r.records.map((e) => e.robustAcc ?? 0));
    lines.push(
      `| ${r.method} | ${pct(last.cleanAcc ?? NaN)}% | ${pct(last.robustAcc ?? NaN)}% | ${pct(best)}% | ${pct(r.oscillation.stdOfChanges)} pts | ${pct(r.oscillation.largestDrop)} pts (${r.oscillation.largestDropEpoch}) |`,
    );
  }
  const at = by('PGD-AT');
  const pi = by('PIAT');
  if (at && pi) {
    const changes = (r: ToyRun) => r.records.slice(1).map((e, i) => (e.robustAcc ?? 0) - (r.records[i].robustAcc ?? 0));
    const verdict = lessVariableVerdict(changes(pi), changes(at));
    lines.push(
      '',
      `**Paper (Sec. III-A, Fig. 3):** PGD-AT's robust accuracy oscillates from epoch to epoch; PIAT's is smoother.`,
      `**Here:** the standard deviation of epoch-to-epoch PGD-20 changes is ${pct(at.oscillation.stdOfChanges)} points for PGD-AT ` +
        `and ${pct(pi.oscillation.stdOfChanges)} for PIAT: ` +
        `the claim ${claimIs(verdict)} on this seed (the variance ratio of the two series of changes against its 95% interval; a difference inside it is inconclusive).`,
    );
  }
  return lines.join('\n');
}

const PALETTE = { domain: ['class 1 (red)', 'class 2 (blue)'], range: ['#d62728', '#1f77b4'] };

/** Fig. 2: the data in the (x1, x2) plane and in a projected 3-D view. */
export function toyDataChart(ds: ArrayDataset): VegaLiteSpec {
  const points = toyPoints(ds);
  const axes3d = {
    data: { values: projectedAxes() },
    layer: [
      {
        mark: { type: 'rule', color: '#555' },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          y: { field: 'y', type: 'quantitative' },
          x2: { field: 'x2' },
          y2: { field: 'y2' },
        },
      },
      {
        mark: { type: 'text', dx: 8, dy: -4, fontSize: 12 },
        encoding: { x: { field: 'x2', type: 'quantitative' }, y: { field: 'y2', type: 'quantitative' }, text: { field: 'axis' } },
      },
    ],
  };
  return hconcat(`Fig. 2 · two-circles training data (${ds.size} points)`, [
    scatterChart(points, { title: '(x1, x2) plane', x: 'x1', y: 'x2', color: 'label', palette: PALETTE }),
    scatterChart(points, { title: '3-D view (oblique projection)', x: 'px', y: 'py', color: 'label', palette: PALETTE, noAxes: true }, [
      axes3d,
    ]),
  ]);
}

/** Fig. 4/5: each run's decision boundary before and after `epoch`, over the test points. */
export async function toyBoundaryChart(runs: ToyRun[], epoch: number, test: ArrayDataset): Promise<VegaLiteSpec> {
  const points = toyPoints(test);
  const panels: VegaLiteSpec[] = [];
  for (const run of runs) {
    const segs = await boundaryAroundEpoch(run, epoch);
    const rob = (e: number) => (e === 0 ? 'init' : `${(100 * (run.records[e - 1].robustAcc ?? 0)).toFixed(0)}%`);
    panels.push(
      scatterChart(
        points,
        { title: `${run.method}: PGD-20 ${rob(epoch - 1)} → ${rob(epoch)}`, x: 'x1', y: 'x2', color: 'label', palette: PALETTE },
        [
          {
            data: { values: segs },
            mark: { type: 'rule', strokeWidth: 2.5, color: '#222' },
            encoding: {
              x: { field: 'x', type: 'quantitative', title: 'x1' },
              y: { field: 'y', type: 'quantitative', title: 'x2' },
              x2: { field: 'x2' },
              y2: { field: 'y2' },
              strokeDash: { field: 'when', type: 'nominal', title: 'boundary' },
            },
          },
        ],
      ),
    );
  }
  return hconcat(`Fig. 4/5 · decision boundary (x3 = 0.5) before and after epoch ${epoch}`, panels);
}
