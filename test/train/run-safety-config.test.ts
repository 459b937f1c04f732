/**
 * Issue 15, items 4 and 5: config checks reach every nested object (types, ranges, unknown keys
 * with suggestions); the JSON Schema for editors is generated from the same description and the
 * committed file is current; `model.arch: "mlp"` trains on images.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import { validateRunConfig, trainFromConfig, withOverrides } from '../../src/train/run-config';
import { train, TrainConfig } from '../../src/train/trainer';
import { mlp } from '../../src/models/mlp';
import { twoCircles } from '../../src/data/toy';
import { pgdAt } from '../../src/objectives/pgd-at';
import { PiatError } from '../../src/util/errors';
import { setup, tmpDir } from '../helpers';
import { tinyConfig } from '../run-safety-helpers';
import { OBJECTIVE_IDS } from '../../src/objectives/registry';
import { ARCHS } from '../../src/models/registry';

before(setup);

const base = tinyConfig('runs/x');

function refused(override: Record<string, unknown>, re: RegExp): void {
  assert.throws(
    () => validateRunConfig(withOverrides(base, override)),
    (e: unknown) => e instanceof PiatError && e.code === 'bad-config' && re.test(e.message),
    `${JSON.stringify(override)} should be refused with ${re}`,
  );
}

test('unknown keys inside nested objects are named, with a suggestion', () => {
  validateRunConfig(base);
  // the four: all were accepted and ignored
  refused(
    { 'train.optimizer.learningRate': 0.1 },
    /^config\.train\.optimizer\.learningRate: unknown field; expected one of: lr, momentum, weightDecay/,
  );
  refused({ 'train.eval.size': 10 }, /^config\.train\.eval\.size: unknown field; expected one of: n, batchSize, attack/);
  refused({ 'objective.attack.epsilon': 0.1 }, /^config\.objective\.attack\.epsilon: unknown field; did you mean eps\?/);
  refused({ 'model.hidden': '64' }, /^config\.model\.hidden must be an array \(each item a whole number >= 1\), got "64" \(a string\)/);
  // a misspelt weightDecay no longer trains without weight decay
  refused({ 'train.optimizer.weightDecy': 5e-4 }, /^config\.train\.optimizer\.weightDecy: unknown field; did you mean weightDecay\?/);
  refused(
    { 'train.lrSchedule': { kind: 'piecewise', milestone: [5] } },
    /^config\.train\.lrSchedule\.milestone: unknown field of kind 'piecewise'; did you mean milestones\?/,
  );
  refused(
    { 'train.lrSchedule': { kind: 'cosin', epochs: 5 } },
    /^config\.train\.lrSchedule\.kind: 'cosin' is not an LR schedule; did you mean cosine\?/,
  );
  refused({ 'train.eval.attack.setps': 5 }, /^config\.train\.eval\.attack\.setps: unknown field; did you mean steps\?/);
  refused(
    { piat: { schedule: { kind: 'dynamic', betaMaks: 0.9 } } },
    /^config\.piat\.schedule\.betaMaks: unknown field of kind 'dynamic'; did you mean betaMax\?/,
  );
  refused({ piat: { warmup: 2 } }, /^config\.piat\.warmup: unknown field; did you mean warmupEpochs\?/);
  refused(
    { averaging: { kind: 'swa', decay: 0.9 } },
    /^config\.averaging\.decay: unknown field of kind 'swa'; expected one of: kind, startEpoch/,
  );
  refused({ 'model.hidden': [8], 'model.arch': 'small-cnn' }, /^config\.model\.hidden: unknown field of arch 'small-cnn'/);
  refused(
    { objective: { name: 'trades', lambda: 2 } },
    /^config\.objective\.lambda: unknown field of name 'trades'; expected one of: name, beta, attack/,
  );
  // fields an attack would ignore are refused too
  refused(
    { objective: { name: 'trades', attack: { eps: 0.1, alpha: 0.05, steps: 1, randomStart: false } } },
    /^config\.objective\.attack\.randomStart: unknown field/,
  );
});

test('types and ranges at every depth; a string is called a string', () => {
  refused({ 'train.optimizer.lr': '0.1' }, /^config\.train\.optimizer\.lr must be a positive number, got "0\.1" \(a string\)/);
  refused({ 'train.optimizer.momentum': 1 }, /^config\.train\.optimizer\.momentum must be in \[0, 1\), got 1$/);
  refused({ 'train.optimizer.nesterov': 'yes' }, /^config\.train\.optimizer\.nesterov must be true or false, got "yes" \(a string\)/);
  refused({ 'train.eval.n': 0 }, /^config\.train\.eval\.n must be a whole number >= 1, got 0/);
  refused({ 'train.eval.attack.steps': 2.5 }, /^config\.train\.eval\.attack\.steps must be a whole number >= 0, got 2\.5/);
  refused({ 'train.eval.attack.clip': [1, 0] }, /^config\.train\.eval\.attack\.clip must be \[lo, hi\] with lo < hi/);
  refused({ 'objective.attack.eps': -0.1 }, /^config\.objective\.attack\.eps must be a number >= 0, got -0\.1/);
  refused({ 'objective.attack.norm': 'l1' }, /^config\.objective\.attack\.norm: 'l1' is not a norm; did you mean l2\?/);
  refused(
    { 'train.lrSchedule': { kind: 'piecewise', milestones: [5, 'x'] } },
    /^config\.train\.lrSchedule\.milestones\[1\] must be a whole number >= 0, got "x" \(a string\)/,
  );
  refused({ piat: { schedule: { kind: 'fixed', beta: 1.5 } } }, /^config\.piat\.schedule\.beta must be in \[0, 1\], got 1\.5/);
  refused({ piat: { schedule: { kind: 'fixed' } } }, /^config\.piat\.schedule\.beta: missing/);
  refused({ piat: { schedule: { kind: 'dynamic', a: 20 } } }, /^config\.piat\.schedule\.a must be <= b/);
  refused({ averaging: { kind: 'ema', decay: 1 } }, /^config\.averaging\.decay must be in \[0, 1\), got 1/);
  refused({ 'model.seed': -1 }, /^config\.model\.seed must be a whole number >= 0/);
  refused({ 'objective.name': 7 }, /^config\.objective\.name must be one of standard, pgd-at/);
  refused({ train: [] }, /^config\.train must be an object, got \[\] \(an array\)/);
  refused({ runDir: '' }, /^config\.runDir must not be empty/);
});

test('train() checks nested fields of a config written in code too', async () => {
  const data = twoCircles({ perClass: 10, seed: 1 });
  const run = (c: Record<string, unknown>) =>
    train({
      model: mlp({ inputDim: 3, numClasses: 2, hidden: [4], seed: 1 }),
      objective: pgdAt({ attack: { eps: 0.03, alpha: 0.01, steps: 1 } }),
      train: data,
      config: { epochs: 1, batchSize: 10, seed: 1, optimizer: { lr: 0.1 }, ...c } as TrainConfig,
      progress: false,
    });
  await assert.rejects(
    run({ optimizer: { lr: 0.1, weightDecy: 5e-4 } }),
    /^PiatError: config\.optimizer\.weightDecy: unknown field; did you mean weightDecay\?/,
  );
  await assert.rejects(run({ eval: { n: 10, atack: null } }), /config\.eval\.atack: unknown field; did you mean attack\?/);
  await assert.rejects(run({ lrSchedule: { kind: 'linear' } }), /config\.lrSchedule\.epochs: missing/);
});

test('the JSON Schema for editors is generated from the same description, and the committed file is current', async () => {
  const { runConfigJsonSchema, SCHEMA_FILE } = await import('../../src/train/run-config-schema');
  const committed = fs.readFileSync(SCHEMA_FILE, 'utf8');
  assert.equal(committed, runConfigJsonSchema(), 'schema/run-config.schema.json is stale: run node dist/src/cli.js schema --write');
  const schema = JSON.parse(committed);
  assert.equal(schema.additionalProperties, false);
  const optimizer = schema.properties.train.properties.optimizer;
  assert.deepEqual(Object.keys(optimizer.properties), ['lr', 'momentum', 'weightDecay', 'nesterov', 'decayBiasAndNorm']);
  assert.equal(optimizer.additionalProperties, false);
  assert.equal(optimizer.properties.lr.exclusiveMinimum, 0);
  const names = schema.properties.objective.oneOf.map((v: { properties: { name: { const: string } } }) => v.properties.name.const);
  // one variant per registered objective, in the registry's order
  assert.deepEqual(names, OBJECTIVE_IDS);
  assert.deepEqual(names.slice(0, 9), ['standard', 'pgd-at', 'alp', 'nmse', 'trades', 'mart', 'mail', 'cfa', 'rat']);
  assert.deepEqual(
    schema.properties.model.oneOf.map((v: { properties: { arch: { const: string } } }) => v.properties.arch.const),
    ARCHS,
  );
});

test('model.arch "mlp" trains on an image dataset', async () => {
  const r = await trainFromConfig(tinyConfig(tmpDir()), { progress: false, keepModel: true });
  assert.equal(r.records.length, 1);
  assert.ok(Number.isFinite(r.records[0].loss.total));
  assert.deepEqual(r.model.inputs[0].shape, [null, 28, 28, 1], 'the MLP takes the images and flattens them itself');
  r.model.dispose();
});
