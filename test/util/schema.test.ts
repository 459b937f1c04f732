/**
 * util/schema on zod: a description built with `s` checks values with messages that name the
 * field's path and what was found, suggests the nearest key or value, reports an unknown key before
 * anything inside its object, and gives the JSON Schema for editors.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { s, toJsonSchema, validate } from '../../src/util/schema';
import { PiatError } from '../../src/util/errors';
import { validateRunConfig } from '../../src/train/run-config';
import { tinyConfig } from '../run-safety-helpers';

const schema = s.obj(
  {
    name: s.req(s.str({ description: 'what it is called' }), 'must name it'),
    size: s.opt(s.int({ min: 1, default: 4 })),
    rate: s.opt(s.num({ above: 0 })),
    mode: s.opt(s.oneOf(['fast', 'slow'], 'a mode'), { nullable: true }),
    range: s.opt(s.arr(s.num(), { minItems: 2, maxItems: 2 })),
    inner: s.opt(
      s.obj({ lo: s.num(), hi: s.num() }, { check: (o) => ((o.lo as number) > (o.hi as number) ? ['hi', 'must be >= lo'] : undefined) }),
    ),
    shape: s.opt(
      s.tagged('kind', 'a shape', { circle: s.obj({ kind: s.str(), radius: s.num({ min: 0 }) }), dot: s.obj({ kind: s.str() }) }),
    ),
  },
  { description: 'a thing' },
);

function refused(value: unknown, message: string): void {
  assert.throws(
    () => validate(value, schema, 'thing'),
    (e: unknown) => e instanceof PiatError && e.code === 'bad-config' && e.message === message,
    `${JSON.stringify(value)} → ${message}`,
  );
}

test('a bad value is named by its path, with what was found', () => {
  validate(
    { name: 'a', size: 2, mode: null, range: [0, 1], inner: { lo: 0, hi: 1 }, shape: { kind: 'circle', radius: 1 } },
    schema,
    'thing',
  );
  refused({ name: 'a', size: 0 }, 'thing.size must be a whole number >= 1, got 0');
  refused({ name: 'a', size: 2.5 }, 'thing.size must be a whole number >= 1, got 2.5');
  refused({ name: 'a', rate: '0.1' }, 'thing.rate must be a positive number, got "0.1" (a string)');
  refused({ name: 'a', rate: Number.NaN }, 'thing.rate must be a positive number, got NaN');
  refused({ name: 'a', range: [0, 'x'] }, 'thing.range[1] must be a number, got "x" (a string)');
  refused({ name: 'a', range: [0] }, 'thing.range must have at least 2 items, got 1');
  refused({ name: '' }, 'thing.name must not be empty');
  refused({}, 'thing.name: must name it');
  refused({ name: 'a', inner: [] }, 'thing.inner must be an object, got [] (an array)');
  refused('a', 'thing must be an object, got "a" (a string)');
});

test('unknown keys and values get a did-you-mean; an unknown key comes before what it stands for', () => {
  refused({ name: 'a', mode: 'fats' }, "thing.mode: 'fats' is not a mode; did you mean fast?");
  refused({ name: 'a', mode: 3 }, 'thing.mode must be one of fast, slow, got 3');
  refused({ name: 'a', sise: 2 }, 'thing.sise: unknown field; did you mean size?');
  // the misspelt required key, not "name: missing"
  refused({ nmae: 'a' }, 'thing.nmae: unknown field; did you mean name?');
  refused({ name: 'a', inner: { lo: 'x', hii: 1 } }, 'thing.inner.hii: unknown field; did you mean hi?');
  refused({ name: 'a', colour: 1 }, 'thing.colour: unknown field; expected one of: name, size, rate, mode, range, inner, shape');
});

test('tagged objects: the tag first, then the fields of its variant', () => {
  refused({ name: 'a', shape: {} }, 'thing.shape.kind: missing (a shape: circle, dot)');
  refused({ name: 'a', shape: { kind: 'circel' } }, "thing.shape.kind: 'circel' is not a shape; did you mean circle?");
  refused({ name: 'a', shape: { kind: 1 } }, 'thing.shape.kind must be one of circle, dot, got 1');
  refused({ name: 'a', shape: { kind: 'dot', radius: 1 } }, "thing.shape.radius: unknown field of kind 'dot'; expected one of: kind");
  refused({ name: 'a', shape: { kind: 'circle' } }, 'thing.shape.radius: missing');
  refused({ name: 'a', shape: 'circle' }, 'thing.shape must be an object with "kind": circle | dot, got "circle" (a string)');
});

test('an object is checked as a whole only once its fields are right', () => {
  refused({ name: 'a', inner: { lo: 2, hi: 1 } }, 'thing.inner.hi must be >= lo');
  refused({ name: 'a', inner: { lo: 2, hi: 'x' } }, 'thing.inner.hi must be a number, got "x" (a string)');
});

test('a run config: the field path as users write it, and the value found', () => {
  const bad = tinyConfig('runs/x', { train: { epochs: 1, batchSize: 12, seed: 3, optimizer: { lr: '0.1' } } });
  assert.throws(
    () => validateRunConfig(bad),
    /^PiatError: config\.train\.optimizer\.lr must be a positive number, got "0\.1" \(a string\)$/,
  );
  const misspelt = tinyConfig('runs/x', { train: { epochs: 1, batchSize: 12, seed: 3, optimizer: { lr: 0.1, momentun: 0.9 } } });
  assert.throws(
    () => validateRunConfig(misspelt),
    /^PiatError: config\.train\.optimizer\.momentun: unknown field; did you mean momentum\?$/,
  );
});

/** The value under `keys` in parsed JSON. */
const at = (v: unknown, ...keys: (string | number)[]): unknown => keys.reduce((o, k) => (o as Record<string | number, unknown>)[k], v);

test('the JSON Schema: types, bounds, required fields, no other keys, tags as constants, documented defaults', () => {
  const j = toJsonSchema(schema);
  assert.equal(j.$schema, undefined, 'the caller writes $schema');
  assert.equal(j.type, 'object');
  assert.equal(j.description, 'a thing');
  assert.equal(j.additionalProperties, false);
  assert.deepEqual(j.required, ['name']);
  assert.deepEqual(at(j, 'properties', 'name'), { type: 'string', minLength: 1, description: 'what it is called' });
  assert.deepEqual(at(j, 'properties', 'size'), { type: 'integer', minimum: 1, default: 4 }, 'no safe-integer bounds written out');
  assert.deepEqual(at(j, 'properties', 'rate'), { type: 'number', exclusiveMinimum: 0 });
  assert.deepEqual(at(j, 'properties', 'mode'), { anyOf: [{ type: 'string', enum: ['fast', 'slow'] }, { type: 'null' }] });
  assert.equal(at(j, 'properties', 'range', 'minItems'), 2);
  assert.deepEqual(
    (at(j, 'properties', 'shape', 'oneOf') as unknown[]).map((v) => [
      at(v, 'properties', 'kind', 'const'),
      at(v, 'required'),
      at(v, 'additionalProperties'),
    ]),
    [
      ['circle', ['kind', 'radius'], false],
      ['dot', ['kind'], false],
    ],
  );
});
