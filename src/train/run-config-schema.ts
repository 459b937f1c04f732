/**
 * The run config's schema (see run-config.ts for an example): checked recursively by
 * validateRunConfig and written as JSON Schema to schema/run-config.schema.json
 * (`node dist/src/cli.js schema --write`; a test keeps the committed file up to date).
 */
import * as fs from 'fs';
import * as path from 'path';
import { DATASETS } from '../data/images';
import { trainConfigSchema } from './config-schema';
import { s, toJsonSchema } from '../util/schema';
import { MODELS, ModelEntry } from '../models/registry';
import { OBJECTIVE_IDS, objectiveEntry } from '../objectives/registry';
import { PACKAGE_ROOT } from '../util/paths';

export const RUN_DATASETS = ['two-circles', ...DATASETS] as const;

const seed = s.opt(s.int({ min: 0, description: 'initialisation seed (default train.seed)' }));

/** One variant per architecture of the model registry (src/models/registry.ts), with its options. */
const model = s.tagged(
  'arch',
  'an architecture',
  Object.fromEntries(Object.entries(MODELS).map(([arch, e]) => [arch, s.obj({ arch: s.str(), ...(e as ModelEntry).options, seed })])),
  { description: 'the network; image shape and class count come from the dataset' },
);

/** One variant per objective of the objective registry (src/objectives/registry.ts), with its options. */
const objective = s.tagged(
  'name',
  'an objective',
  Object.fromEntries(
    OBJECTIVE_IDS.map((id) => [id, s.obj({ name: s.str(), ...objectiveEntry(id).options }, { check: objectiveEntry(id).check })]),
  ),
  { description: 'the training objective' },
);

const dynamic = s.obj(
  {
    kind: s.str(),
    betaMax: s.opt(s.num({ min: 0, max: 1, default: 0.99 })),
    a: s.opt(s.num({ min: 0, default: 1 })),
    b: s.opt(s.num({ above: 0, default: 10 })),
  },
  {
    check: (o) => {
      const a = Number(o.a ?? 1),
        b = Number(o.b ?? 10);
      return a > b ? ['a', `must be <= b, got a=${a}, b=${b}`] : undefined;
    },
  },
);

const piat = s.obj(
  {
    schedule: s.opt(
      s.tagged(
        'kind',
        'a β schedule',
        { dynamic, fixed: s.obj({ kind: s.str(), beta: s.num({ min: 0, max: 1 }) }) },
        { description: 'default dynamic' },
      ),
    ),
    warmupEpochs: s.opt(s.int({ min: 0, default: 0 })),
  },
  { description: "PIAT: interpolate the weights with the previous epoch's after every epoch" },
);

const averaging = s.tagged(
  'kind',
  'a kind of averaging',
  {
    ema: s.obj({ kind: s.str(), decay: s.opt(s.num({ min: 0, below: 1, default: 0.999 })) }),
    swa: s.obj({ kind: s.str(), startEpoch: s.opt(s.int({ min: 0, default: 0 })) }),
    fawa: s.obj({
      kind: s.str(),
      validationSize: s.req(
        s.int({ min: 1 }),
        'FAWA needs a held-out validation size (a whole number > 0), taken from the end of the training set',
      ),
      decay: s.opt(s.num({ min: 0, below: 1, default: 0.88 })),
      threshold: s.opt(s.num({ min: 0, max: 1, default: 0.24 })),
    }),
  },
  { description: "weight averaging (SWA, EMA, or CFA's FAWA); the average is evaluated and kept as Best" },
);

export const runConfigSchema = s.obj(
  {
    // lets editors find this schema ("$schema": "../schema/run-config.schema.json"); not part of the run
    $schema: s.opt(s.str({ description: 'path or URL of this JSON Schema, for editors' })),
    dataset: s.oneOf(RUN_DATASETS, 'a dataset'),
    dataDir: s.opt(
      s.str({ description: "folder holding the dataset's files (mnist: the official IDX files instead of the embedded digits)" }),
    ),
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
    check: (c) =>
      c.dataset === 'two-circles' && c.dataDir !== undefined ? ['dataDir', ': two-circles is generated, it has no data folder'] : undefined,
  },
);

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
