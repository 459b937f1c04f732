/**
 * The run config's schema (see run-config.ts for an example): checked recursively by
 * validateRunConfig and written as JSON Schema to schema/run-config.schema.json
 * (`node dist/src/cli.js schema --write`; a test keeps the committed file up to date).
 */
import * as fs from 'fs';
import * as path from 'path';
import { DATASETS } from '../data/images';
import { attackSchema, trainConfigSchema } from '../train/config-schema';
import { ObjectSchema, s, toJsonSchema } from '../util/schema';
import { PACKAGE_ROOT } from '../util/paths';

export const ARCHS = ['small-cnn', 'resnet18', 'preact-resnet18', 'wrn34-10', 'mlp'] as const;
export const RUN_DATASETS = ['two-circles', ...DATASETS] as const;

const seed = s.opt(s.int({ min: 0, description: 'initialisation seed (default train.seed)' }));
const conv = () => s.obj({ arch: s.str(), seed });

const model = s.tagged(
  'arch',
  'an architecture',
  {
    'small-cnn': conv(),
    resnet18: conv(),
    'preact-resnet18': conv(),
    'wrn34-10': conv(),
    mlp: s.obj({ arch: s.str(), hidden: s.opt(s.arr(s.int({ min: 1 }), { default: [64], description: 'hidden layer widths' })), seed }),
  },
  { description: 'the network; image shape and class count come from the dataset' },
);

const nonNeg = (d?: number, description?: string) => s.opt(s.num({ min: 0, default: d, description }));
const attack = (kind: 'pgd' | 'noise' | 'kl') => s.opt(attackSchema(kind, 'training attack (default PGD-10, ε 8/255, α 2/255)'));
const variant = (fields: Parameters<typeof s.obj>[0], check?: ObjectSchema['check']) => s.obj({ name: s.str(), ...fields }, { check });

const objective = s.tagged(
  'name',
  'an objective',
  {
    standard: variant({}),
    'pgd-at': variant({ attack: attack('pgd') }),
    alp: variant({ lambda: nonNeg(1), attack: attack('pgd') }),
    nmse: variant({
      lambda: nonNeg(4),
      ce: s.opt(s.oneOf(['adversarial', 'clean'], 'a CE input', { default: 'adversarial' })),
      reduction: s.opt(s.oneOf(['sum', 'mean'], 'an NMSE reduction', { default: 'sum', description: "over classes: 'sum' = squared L2 distance (the authors' code, λ = 4 tuned with it), 'mean' = ÷ K" })),
      attack: attack('pgd'),
    }),
    trades: variant({ beta: nonNeg(6), attack: attack('kl') }),
    mart: variant({ lambda: nonNeg(6), attack: attack('noise') }),
    mail: variant(
      {
        base: s.opt(s.oneOf(['at', 'trades', 'mart'], 'a MAIL base', { default: 'at' })),
        bias: s.opt(s.num({ default: -1.5 })),
        slope: s.opt(s.num({ default: 1 })),
        beta: nonNeg(5),
        burnInEpochs: s.opt(s.int({ min: 0, default: 0 })),
        attack: attack('noise'),
      },
      // the TRADES base maximises the KL divergence: an attack loss would be ignored
      (o) => (o.base === 'trades' && isObj(o.attack) && o.attack.loss !== undefined ? ['attack.loss', ": does not apply to MAIL's trades base (its attack maximises the KL divergence)"] : undefined),
    ),
    cfa: variant(
      {
        base: s.opt(s.oneOf(['trades', 'at'], 'a CFA base', { default: 'trades' })),
        ccm: s.opt(s.bool({ default: true, description: 'class-wise calibrated ε' })),
        ccr: s.opt(s.bool({ default: true, description: 'class-wise calibrated TRADES weight (trades base only)' })),
        lambda1: nonNeg(0.5),
        lambda2: nonNeg(0.5),
        beta: nonNeg(6),
        beginEpoch: s.opt(s.int({ min: 0, default: 10 })),
        numClasses: s.opt(s.int({ min: 2, description: "default: the dataset's" })),
        attack: s.opt(attackSchema('pgd')),
      },
      (o) => {
        if (o.base !== 'at' && isObj(o.attack)) {
          const ignored = ['randomStart', 'loss'].find((k) => (o.attack as Record<string, unknown>)[k] !== undefined);
          if (ignored) return [`attack.${ignored}`, ": does not apply to CFA's trades base (its attack starts from small noise and maximises the KL divergence)"];
        }
        if (o.base === 'at' && o.ccr !== undefined) return ['ccr', ": does not apply to base 'at' (CCR calibrates the TRADES weight)"];
        return undefined;
      },
    ),
    rat: variant({ alpha: nonNeg(0.2), beta: nonNeg(6), weightNoise: nonNeg(1e-4, 'σ of the noise on conv kernels'), attack: attack('kl') }),
  },
  { description: 'the training objective' },
);

const dynamic = s.obj(
  { kind: s.str(), betaMax: s.opt(s.num({ min: 0, max: 1, default: 0.99 })), a: s.opt(s.num({ min: 0, default: 1 })), b: s.opt(s.num({ above: 0, default: 10 })) },
  { check: (o) => ((o.a ?? 1) > (o.b ?? 10) ? ['a', `must be <= b, got a=${o.a ?? 1}, b=${o.b ?? 10}`] : undefined) },
);

const piat = s.obj(
  {
    schedule: s.opt(s.tagged('kind', 'a β schedule', { dynamic, fixed: s.obj({ kind: s.str(), beta: s.num({ min: 0, max: 1 }) }) }, { description: 'default dynamic' })),
    warmupEpochs: s.opt(s.int({ min: 0, default: 0 })),
  },
  { description: 'PIAT: interpolate the weights with the previous epoch\'s after every epoch' },
);

const averaging = s.tagged(
  'kind',
  'a kind of averaging',
  {
    ema: s.obj({ kind: s.str(), decay: s.opt(s.num({ min: 0, below: 1, default: 0.999 })) }),
    swa: s.obj({ kind: s.str(), startEpoch: s.opt(s.int({ min: 0, default: 0 })) }),
    fawa: s.obj({
      kind: s.str(),
      validationSize: s.req(s.int({ min: 1 }), 'FAWA needs a held-out validation size (a whole number > 0), taken from the end of the training set'),
      decay: s.opt(s.num({ min: 0, below: 1, default: 0.88 })),
      threshold: s.opt(s.num({ min: 0, max: 1, default: 0.24 })),
    }),
  },
  { description: 'weight averaging (SWA, EMA, or CFA\'s FAWA); the average is evaluated and kept as Best' },
);

export const runConfigSchema = s.obj(
  {
    // lets editors find this schema ("$schema": "../schema/run-config.schema.json"); not part of the run
    $schema: s.opt(s.str({ description: 'path or URL of this JSON Schema, for editors' })),
    dataset: s.oneOf(RUN_DATASETS, 'a dataset'),
    dataDir: s.opt(s.str({ description: "folder holding the dataset's files (mnist: the official IDX files instead of the embedded digits)" })),
    trainSize: s.opt(s.int({ min: 1, description: 'first n training examples' })),
    testSize: s.opt(s.int({ min: 1, description: 'first n test examples' })),
    model: s.req(model, 'missing (e.g. { "arch": "small-cnn" })'),
    objective: s.req(objective, 'missing (e.g. { "name": "pgd-at" })'),
    piat: s.opt(piat, { nullable: true }),
    averaging: s.opt(averaging, { nullable: true }),
    train: s.req(trainConfigSchema, 'missing (e.g. { "epochs": 10, "batchSize": 128, "seed": 1, "optimizer": { "lr": 0.01 } })'),
    runDir: s.req(s.str({ description: 'folder for checkpoints and records' }), 'must name the folder for checkpoints and records'),
  },
  {
    description: 'A piat-ts training run (node dist/src/cli.js train --config FILE)',
    check: (c) => (c.dataset === 'two-circles' && c.dataDir !== undefined ? ['dataDir', ': two-circles is generated, it has no data folder'] : undefined),
  },
);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const SCHEMA_FILE = path.join(PACKAGE_ROOT, 'schema', 'run-config.schema.json');

/** The JSON Schema text written to schema/run-config.schema.json. */
export function runConfigJsonSchema(): string {
  const body = { $schema: 'http://json-schema.org/draft-07/schema#', title: 'piat-ts run config', ...toJsonSchema(runConfigSchema) };
  return JSON.stringify(body, null, 2) + '\n';
}

export function writeRunConfigJsonSchema(file = SCHEMA_FILE): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, runConfigJsonSchema());
  return file;
}
