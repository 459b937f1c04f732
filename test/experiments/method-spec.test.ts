/**
 * Every method the notebooks train from the pool, built exactly as trainPool builds it (methodSpec
 * with poolMethodContext of the profile's pool config), at every profile: its objective's recorded
 * config and its hooks' options must be the written spec's (test/method-spec.ts), so a refactor that
 * drops or changes a setting fails here.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { PROFILES, Profile } from '../../src/experiments/profiles';
import { PoolArch, poolConfig, PoolConfig, PoolMethod, poolMethodContext, tableDatasets } from '../../src/experiments/pool';
import {
  buildMethod,
  MAIL_BURN_IN_FRACTION,
  mailBurnInEpochs,
  methodByName,
  methodLabel,
  methodSpec,
  MethodSpec,
  MethodVariant,
} from '../../src/experiments/methods';
import { FIG1_METHODS, fig1Config } from '../../src/experiments/fig1';
import { table1Methods, TABLE1_DATASETS } from '../../src/experiments/table1';
import { FIG6_DATASETS, PIAT_PAIRS_METHODS, TABLE2_METHODS, TABLE5_METHODS, WRN_DATASETS } from '../../src/experiments/piat-tables';
import { table4Archs, table4Methods } from '../../src/experiments/table4';
import { betaMethod, FIG7_LAMBDAS, FIG9_BETAS, lambdaMethod } from '../../src/experiments/sweeps';
import { LANDSCAPE_METHODS } from '../../src/experiments/landscape';
import { DatasetName } from '../../src/data/images';
import { ArrayDataset } from '../../src/data/dataset';
import { PiatHook } from '../../src/piat/hook';
import { betaAt, BetaSchedule, DYNAMIC_DEFAULTS } from '../../src/piat/schedule';
import { mail } from '../../src/objectives/mail';
import { train } from '../../src/train/trainer';
import { mlp } from '../../src/models/mlp';
import { twoCircles } from '../../src/data/toy';
import { archFamily, OBJECTIVE_SPEC, RUN_SPEC, RunSpec, specBeta } from '../method-spec';
import { REPO_ROOT, setup } from '../helpers';

before(setup);

// ---- what each notebook trains (mirroring the notebook's call; the calls are checked against the notebook's code below) ----

interface PoolRun {
  dataset: DatasetName;
  arch: PoolArch;
  methods: (string | PoolMethod)[];
}

interface NotebookEntry {
  file: string;
  /** code the notebook must contain: the call that decides what it trains */
  calls: string[];
  runs: (p: Profile) => PoolRun[];
}

const over = (datasets: readonly DatasetName[], arch: PoolArch, methods: (string | PoolMethod)[]): PoolRun[] =>
  datasets.map((dataset) => ({ dataset, arch, methods }));
const cifar10Sweep = (p: Profile) => tableDatasets(p, ['cifar10']);

const NOTEBOOKS: NotebookEntry[] = [
  {
    file: '02-oscillation-curves.ipynb',
    calls: ['ex.runFig1(profile)'],
    runs: (p) => {
      const c = fig1Config(p);
      return [{ dataset: c.dataset, arch: c.arch, methods: [...FIG1_METHODS] }];
    },
  },
  {
    file: '03-table1-resnet18.ipynb',
    calls: [
      'const methods = ex.table1Methods(profile);',
      'ex.runMethodsTable(profile, [...ex.TABLE1_DATASETS], methods, { arch: "resnet18" })',
    ],
    runs: (p) => over(tableDatasets(p, [...TABLE1_DATASETS]), 'resnet18', table1Methods(p)),
  },
  {
    file: '04-tables2-3-wrn.ipynb',
    calls: [
      'ex.runMethodsTable(profile, [...ex.WRN_DATASETS], ex.PIAT_PAIRS_METHODS, { arch: "wrn34-10" })',
      'profile === "paper" ? await ex.runMethodsTable(profile, [...ex.WRN_DATASETS], ex.TABLE2_METHODS, { arch: "wrn34-10" })',
    ],
    runs: (p) => [
      ...over(tableDatasets(p, [...WRN_DATASETS]), 'wrn34-10', PIAT_PAIRS_METHODS),
      ...(p === 'paper' ? over(tableDatasets(p, [...WRN_DATASETS]), 'wrn34-10', TABLE2_METHODS) : []),
    ],
  },
  {
    file: '05-table4-vits.ipynb',
    calls: ['ex.runTable4(profile)'],
    runs: (p) => table4Archs(p).map((arch) => ({ dataset: p === 'paper' ? 'cifar10' : 'fashion-mnist', arch, methods: table4Methods(p) })),
  },
  {
    file: '06-table5-nmse-vs-alp.ipynb',
    calls: ['ex.runMethodsTable(profile, ["cifar10", "cifar100"], ex.TABLE5_METHODS, { arch: "resnet18" })'],
    runs: (p) => over(tableDatasets(p, ['cifar10', 'cifar100']), 'resnet18', TABLE5_METHODS),
  },
  {
    file: '07-fig6-piat-frameworks.ipynb',
    calls: ['ex.runMethodsTable(profile, [...ex.FIG6_DATASETS], ex.PIAT_PAIRS_METHODS, { arch: "resnet18" })'],
    runs: (p) => over(tableDatasets(p, [...FIG6_DATASETS]), 'resnet18', PIAT_PAIRS_METHODS),
  },
  {
    file: '08-fig7-lambda-sweep.ipynb',
    calls: ['ex.runLambdaSweep(profile)'],
    runs: (p) => over(cifar10Sweep(p), 'resnet18', FIG7_LAMBDAS.map(lambdaMethod)),
  },
  {
    file: '09-fig8-loss-landscape.ipynb',
    calls: ['ex.runLandscapes(profile)'],
    runs: (p) => over(cifar10Sweep(p), 'resnet18', LANDSCAPE_METHODS),
  },
  {
    file: '10-fig9-beta-schedules.ipynb',
    calls: ['ex.runBetaSchedules(profile)'],
    runs: (p) => over(cifar10Sweep(p), 'resnet18', [...FIG9_BETAS, 'dynamic' as const].map(betaMethod)),
  },
];

function notebookCode(file: string): string {
  const nb = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'notebooks', file), 'utf8')) as {
    cells: { cell_type: string; source: string[] | string }[];
  };
  return nb.cells
    .filter((c) => c.cell_type === 'code')
    .map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source))
    .join('\n');
}

// ---- the expected objective config and hooks, from the spec ----

const numClassesOf = (d: DatasetName) => (d === 'cifar100' ? 100 : 10);

/** The parts of a table name: PIAT around it or not, A&P or not, and the base's paper name. */
function parseName(name: string): { piat: boolean; ap: boolean; base: string } {
  if (name === 'PIAT') return { piat: true, ap: false, base: 'PGD-AT' };
  let base = name;
  const piat = base.startsWith('PIAT+');
  if (piat) base = base.slice('PIAT+'.length);
  const ap = base.endsWith('+A&P');
  if (ap) base = base.slice(0, -'+A&P'.length);
  return { piat, ap, base };
}

function expectedBaseConfig(base: string, run: RunSpec, numClasses: number, v: MethodVariant): Record<string, unknown> {
  const S = OBJECTIVE_SPEC;
  const attack = run.attack.value;
  switch (base) {
    case 'PGD-AT':
      return { attack };
    case 'ALP':
      return { lambda: S.alp.lambda.value, attack };
    case 'TRADES':
      return { beta: S.trades.beta.value, attack };
    case 'MART':
      return { lambda: S.mart.lambda.value, attack };
    case 'MAIL':
      return {
        base: S.mail.base.value,
        bias: S.mail.bias.value,
        slope: S.mail.slope.value,
        beta: S.mail.beta.value,
        burnInEpochs: run.mailBurnInEpochs.value,
        attack,
      };
    case 'CFA':
      return {
        base: S.cfa.base.value,
        ccm: S.cfa.ccm.value,
        ccr: S.cfa.ccr.value,
        lambda1: S.cfa.lambda1.value,
        lambda2: S.cfa.lambda2.value,
        beta: S.cfa.beta.value,
        beginEpoch: run.cfaBeginEpoch.value,
        numClasses,
        attack,
      };
    case 'RAT':
      return { alpha: S.rat.alpha.value, beta: S.rat.beta.value, weightNoise: S.rat.weightNoise.value, attack };
    case 'NMSE':
      // the reduction is recorded only when it is not the default 'sum'
      return {
        lambda: v.nmseLambda ?? S.nmse.lambda.value,
        ce: S.nmse.ce.value,
        attack,
        ...(S.nmse.reduction.value === 'sum' ? {} : { reduction: S.nmse.reduction.value }),
      };
    default:
      throw new Error(`the spec has no objective for '${base}'`);
  }
}

function expectedObjectiveConfig(name: string, run: RunSpec, numClasses: number, v: MethodVariant): Record<string, unknown> {
  const { ap, base } = parseName(name);
  const inner = expectedBaseConfig(base, run, numClasses, v);
  if (!ap) return inner;
  const apBase = ({ 'PGD-AT': 'pgd-at', TRADES: 'trades', MART: 'mart' } as Record<string, string>)[base];
  assert.ok(apBase, `A&P around ${base}`);
  const S = OBJECTIVE_SPEC.ap;
  return {
    base: apBase,
    patch: run.patch?.value,
    dropRate: S.dropRate.value,
    rampEpochs: run.apRampEpochs?.value,
    ard: S.ard.value,
    prm: S.prm.value,
    inner,
  };
}

/** Differences between a recorded config and the expected one (same keys; numbers equal to 1e-12 relative). */
function diffs(actual: unknown, expected: unknown, at: string): string[] {
  if (typeof expected === 'number' && typeof actual === 'number') {
    return Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)) ? [] : [`${at}: ${actual}, spec ${expected}`];
  }
  if (expected && typeof expected === 'object' && actual && typeof actual === 'object' && !Array.isArray(expected)) {
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    const keys = new Set([...Object.keys(a), ...Object.keys(e)]);
    return [...keys].flatMap((k) =>
      k in e
        ? k in a
          ? diffs(a[k], e[k], `${at}.${k}`)
          : [`${at}.${k}: missing, spec ${JSON.stringify(e[k])}`]
        : [`${at}.${k}: ${JSON.stringify(a[k])} is not in the spec`],
    );
  }
  return JSON.stringify(actual) === JSON.stringify(expected) ? [] : [`${at}: ${JSON.stringify(actual)}, spec ${JSON.stringify(expected)}`];
}

/** A tiny held-out split to build FAWA's hook with (the hook only reads its name and size). */
const VALIDATION = new ArrayDataset('validation', new Float32Array(4 * 3), new Int32Array([0, 1, 0, 1]), [3], 2);

/** Everything that does not match the spec in one built method (empty: it matches). */
function methodProblems(spec: MethodSpec, name: string, v: MethodVariant, run: RunSpec, numClasses: number): string[] {
  const label = methodLabel(name, v);
  const out: string[] = [];
  if (spec.name !== label) out.push(`run name ${spec.name}, expected ${label}`);
  const objective = spec.objective();
  out.push(...diffs(objective.config, expectedObjectiveConfig(name, run, numClasses, v), `${label} objective`));

  const { piat, base } = parseName(name);
  const cfa = base === 'CFA';
  out.push(...diffs(spec.holdOut, cfa ? run.cfaValidation.value : undefined, `${label} holdOut`));
  const hooks = spec.hooks?.({ validation: cfa ? VALIDATION : undefined }) ?? [];
  const expectedHooks = [...(piat ? ['piat'] : []), ...(cfa ? ['fawa'] : [])];
  out.push(
    ...diffs(
      hooks.map((h) => h.name),
      expectedHooks,
      `${label} hooks`,
    ),
  );

  const piatHook = hooks.find((h) => h.name === 'piat') as PiatHook | undefined;
  if (piatHook) {
    const schedule: BetaSchedule = v.piatSchedule ?? { kind: OBJECTIVE_SPEC.piat.schedule.value };
    out.push(...diffs(piatHook.config, { schedule, warmupEpochs: OBJECTIVE_SPEC.piat.warmupEpochs.value }, `${label} PIAT`));
    // the β it will use, interpolation by interpolation, against the spec's Eq. 10
    if (schedule.kind === 'dynamic') {
      for (let k = 0; k <= 200; k++) out.push(...diffs(betaAt(piatHook.schedule, k), specBeta(k), `${label} PIAT β at k = ${k}`));
    }
  }
  const fawaHook = hooks.find((h) => h.name === 'fawa');
  if (fawaHook) {
    const S = OBJECTIVE_SPEC.cfa;
    out.push(
      ...diffs(
        fawaHook.config,
        {
          decay: S.fawaDecay.value,
          threshold: S.fawaThreshold.value,
          attack: { ...run.attack.value, steps: S.fawaSteps.value, randomStart: true },
          validation: { name: VALIDATION.name, n: VALIDATION.size },
        },
        `${label} FAWA`,
      ),
    );
  }
  return out;
}

/** A method as trainPool builds it for a pool config. */
function poolBuilt(c: PoolConfig, m: string | PoolMethod, numClasses: number): { spec: MethodSpec; name: string; variant: MethodVariant } {
  const name = typeof m === 'string' ? m : m.name;
  const variant = typeof m === 'string' ? {} : (m.variant ?? {});
  return { spec: methodSpec(name, poolMethodContext(c, numClasses), variant), name, variant };
}

// ---- the tests ----

test('each notebook that trains from the pool calls what this test mirrors, and every such notebook is listed', () => {
  const files = fs.readdirSync(path.join(REPO_ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb'));
  const pooled = files.filter((f) => notebookCode(f).includes('openPoolNotebook'));
  assert.deepEqual(pooled.sort(), NOTEBOOKS.map((n) => n.file).sort());
  for (const n of NOTEBOOKS) {
    const code = notebookCode(n.file);
    for (const call of n.calls) assert.ok(code.includes(call), `${n.file} no longer contains: ${call}`);
  }
});

test("every method every pool notebook trains, at every profile, has the spec's objective settings and hooks", () => {
  let checked = 0;
  const problems: string[] = [];
  for (const profile of PROFILES) {
    for (const n of NOTEBOOKS) {
      for (const r of n.runs(profile)) {
        const c = poolConfig(profile, { dataset: r.dataset, arch: r.arch });
        const run = RUN_SPEC[profile][archFamily(c.arch)];
        // the pool config itself against the spec
        problems.push(...diffs(c.epochs, run.epochs.value, `${profile} ${n.file} ${c.arch} epochs`));
        problems.push(...diffs(c.attack, run.attack.value, `${profile} ${n.file} ${c.arch} training attack`));
        for (const m of r.methods) {
          const { spec, name, variant } = poolBuilt(c, m, numClassesOf(r.dataset));
          problems.push(
            ...methodProblems(spec, name, variant, run, numClassesOf(r.dataset)).map(
              (p) => `${profile} ${n.file} ${r.dataset}/${c.arch}: ${p}`,
            ),
          );
          checked++;
        }
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(checked > 150, `only ${checked} methods checked`);
});

test("MAIL's burn-in is the authors' 75 of 120 epochs scaled to the run, and every notebook's MAIL and PIAT+MAIL train with it", () => {
  assert.equal(MAIL_BURN_IN_FRACTION, OBJECTIVE_SPEC.mail.burnInFraction.value);
  // 75 at 120 epochs; at smoke's 2 epochs one epoch of each phase (the switch is exercised); WRN's 180 → 112.5 → 113
  for (const [epochs, burnIn] of [
    [120, 75],
    [180, 113],
    [40, 25],
    [8, 5],
    [2, 1],
    [1, 1],
    [0, 0],
  ] as const)
    assert.equal(mailBurnInEpochs(epochs), burnIn, `${epochs} epochs`);
  const mailRuns: string[] = [];
  for (const profile of PROFILES) {
    for (const n of NOTEBOOKS) {
      for (const r of n.runs(profile)) {
        for (const m of r.methods.filter((x) => ['MAIL', 'PIAT+MAIL'].includes(typeof x === 'string' ? x : x.name))) {
          const c = poolConfig(profile, { dataset: r.dataset, arch: r.arch });
          const { spec } = poolBuilt(c, m, numClassesOf(r.dataset));
          const burnIn = spec.objective().config.burnInEpochs;
          assert.equal(burnIn, RUN_SPEC[profile][archFamily(c.arch)].mailBurnInEpochs.value, `${profile} ${n.file} ${spec.name}`);
          assert.ok((burnIn as number) > 0, `${profile} ${n.file} ${spec.name}: no burn-in`);
          mailRuns.push(`${profile}/${n.file}/${spec.name}`);
        }
      }
    }
  }
  // MAIL is trained by notebooks 03, 04 and 07 at every profile but overfit's 03 (its core four)
  assert.ok(
    mailRuns.some((x) => x.startsWith('paper/') && x.includes('04-')) && mailRuns.some((x) => x.startsWith('smoke/')),
    mailRuns.join(', '),
  );
});

test('the check fails when a setting is dropped: MAIL without its burn-in, TRADES with another β, PIAT with a warm-up', () => {
  const c = poolConfig('paper');
  const run = RUN_SPEC.paper.cnn;
  const ctx = poolMethodContext(c, 10);
  assert.deepEqual(methodProblems(methodSpec('MAIL', ctx), 'MAIL', {}, run, 10), []);
  // the context before the fix: no burn-in for MAIL
  const noBurnIn = methodProblems(buildMethod('MAIL', methodByName('MAIL'), { ...ctx, mailBurnInEpochs: 0 }), 'MAIL', {}, run, 10);
  assert.deepEqual(noBurnIn, ['MAIL objective.burnInEpochs: 0, spec 75']);
  const trades = methodProblems(buildMethod('TRADES', { objective: 'trades', options: { beta: 1 } }, ctx), 'TRADES', {}, run, 10);
  assert.deepEqual(trades, ['TRADES objective.beta: 1, spec 6']);
  const warm = methodProblems(buildMethod('PIAT+NMSE', { objective: 'nmse', piat: { warmupEpochs: 10 } }, ctx), 'PIAT+NMSE', {}, run, 10);
  assert.deepEqual(warm, ['PIAT+NMSE PIAT.warmupEpochs: 10, spec 0']);
  const noPiat = methodProblems(buildMethod('PIAT+NMSE', { objective: 'nmse' }, ctx), 'PIAT+NMSE', {}, run, 10);
  assert.deepEqual(noPiat, ['PIAT+NMSE hooks: [], spec ["piat"]']);
  // the context's override and a method option both reach the objective
  assert.equal(methodSpec('MAIL', { ...ctx, mailBurnInEpochs: 3 }).objective().config.burnInEpochs, 3);
  assert.equal(buildMethod('MAIL', { objective: 'mail', options: { burnInEpochs: 7 } }, ctx).objective().config.burnInEpochs, 7);
  assert.equal(methodSpec('MAIL', { ...ctx, objectiveOptions: { mail: { burnInEpochs: 4 } } }).objective().config.burnInEpochs, 4);
});

test("the spec's PIAT defaults are the schedule module's, and every spec entry names its source", () => {
  const S = OBJECTIVE_SPEC.piat;
  assert.deepEqual(DYNAMIC_DEFAULTS, { betaMax: S.betaMax.value, a: S.a.value, b: S.b.value });
  // Eq. 10 at the values the docs quote: 0.10, 0.53, 0.85, 0.92 at k = 0, 9, 49, 99
  assert.deepEqual(
    [0, 9, 49, 99].map((k) => specBeta(k).toFixed(2)),
    ['0.10', '0.53', '0.85', '0.92'],
  );
  const entries = [
    ...Object.values(OBJECTIVE_SPEC).flatMap((o) => Object.values(o)),
    ...Object.values(RUN_SPEC).flatMap((byArch) => Object.values(byArch).flatMap((r) => Object.values(r))),
  ] as { tag: string; source: string }[];
  for (const e of entries) {
    assert.ok(['READ', 'PORT', 'CHOSEN', 'AUTHORS'].includes(e.tag), JSON.stringify(e));
    assert.ok(e.source.length > 5, JSON.stringify(e));
  }
});

test('MAIL says in each epoch record whether its weighting was on: 0 during the burn-in, 1 after', async () => {
  const o = mail({ burnInEpochs: 2 });
  assert.deepEqual(
    [0, 1, 2, 3].map((e) => o.onEpochEnd?.(e)),
    [0, 0, 1, 1].map((m) => ({ mailReweighting: m })),
  );
  // a 2-epoch run as the smoke profile's (burn-in 1 of 2), through the method table and the trainer
  const all = twoCircles({ perClass: 30, seed: 3 });
  const spec = methodSpec('MAIL', { attack: { eps: 0.05, alpha: 0.02, steps: 2 }, numClasses: 2, epochs: 2 });
  const model = mlp({ inputDim: 3, numClasses: 2, hidden: [8], seed: 1 });
  const r = await train({
    model,
    objective: spec.objective(),
    train: all,
    config: { epochs: 2, batchSize: 20, seed: 1, optimizer: { lr: 0.1 } },
    progress: false,
  });
  model.dispose();
  assert.deepEqual(
    r.records.map((x) => x.mailReweighting),
    [0, 1],
  );
  assert.equal(r.records[0].loss.mean_weight, 1, 'burn-in: every weight is 1');
  assert.notEqual(r.records[1].loss.mean_weight, 1, 'reweighted: 3·sigmoid(PM − 1.5) is not 1');
});
