/**
 * A small schema language for JSON configs: one description gives both the recursive check (every
 * nested object: types, ranges, unknown keys with did-you-mean) and the JSON Schema for editors.
 * Hand-written instead of an npm validator so that messages name the field the way users write it
 * (config.train.optimizer.lr) and say what was found ("0.1" (a string)).
 */
import { PiatError } from './errors';

interface Base {
  description?: string;
  /** documented default (for editors; the code that reads the value applies it) */
  default?: unknown;
}
export interface NumberSchema extends Base {
  type: 'number';
  integer?: boolean;
  min?: number;
  max?: number;
  /** strict bounds */
  above?: number;
  below?: number;
}
export interface StringSchema extends Base {
  type: 'string';
  enum?: readonly string[];
  /** what an enum value is, for messages: "'cifar11' is not a dataset" */
  noun?: string;
}
export interface BooleanSchema extends Base {
  type: 'boolean';
}
export interface ArraySchema extends Base {
  type: 'array';
  items: Schema;
  minItems?: number;
  maxItems?: number;
}
export interface Field {
  schema: Schema;
  optional?: boolean;
  /** null is accepted (and means something: e.g. no evaluation attack) */
  nullable?: boolean;
  /** message when a required field is absent (default "missing") */
  missing?: string;
}
export interface ObjectSchema extends Base {
  type: 'object';
  fields: Record<string, Field>;
  /** cross-field rules: returns [field, message] when the object is inconsistent */
  check?: (value: Record<string, unknown>) => [string, string] | undefined;
}
/** Objects told apart by one string field (objective.name, lrSchedule.kind, …). */
export interface TaggedSchema extends Base {
  type: 'tagged';
  tag: string;
  noun: string;
  variants: Record<string, ObjectSchema>;
}
export type Schema = NumberSchema | StringSchema | BooleanSchema | ArraySchema | ObjectSchema | TaggedSchema;

// ---- builders ------------------------------------------------------------------------------

export const s = {
  num: (o: Omit<NumberSchema, 'type'> = {}): NumberSchema => ({ type: 'number', ...o }),
  int: (o: Omit<NumberSchema, 'type' | 'integer'> = {}): NumberSchema => ({ type: 'number', integer: true, ...o }),
  str: (o: Omit<StringSchema, 'type'> = {}): StringSchema => ({ type: 'string', ...o }),
  oneOf: (values: readonly string[], noun?: string, o: Omit<StringSchema, 'type' | 'enum' | 'noun'> = {}): StringSchema => ({
    type: 'string',
    enum: values,
    noun,
    ...o,
  }),
  bool: (o: Omit<BooleanSchema, 'type'> = {}): BooleanSchema => ({ type: 'boolean', ...o }),
  arr: (items: Schema, o: Omit<ArraySchema, 'type' | 'items'> = {}): ArraySchema => ({ type: 'array', items, ...o }),
  obj: (fields: Record<string, Field | Schema>, o: Omit<ObjectSchema, 'type' | 'fields'> = {}): ObjectSchema => ({
    type: 'object',
    fields: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, 'schema' in f ? f : { schema: f }])),
    ...o,
  }),
  tagged: (tag: string, noun: string, variants: Record<string, ObjectSchema>, o: Base = {}): TaggedSchema => ({
    type: 'tagged',
    tag,
    noun,
    variants,
    ...o,
  }),
  /** an optional field */
  opt: (schema: Schema, o: Omit<Field, 'schema' | 'optional'> = {}): Field => ({ schema, optional: true, ...o }),
  /** a required field with its own "missing" message */
  req: (schema: Schema, missing: string): Field => ({ schema, missing }),
};

// ---- messages ------------------------------------------------------------------------------

/** Edit distance with transpositions (setps → steps is one edit), for did-you-mean. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** "; did you mean X?" for a near miss (or a different letter case), else the list of choices. */
export function closest(word: string, options: readonly string[]): string {
  const near = (o: string) => {
    const [a, b] = [word.toLowerCase(), o.toLowerCase()];
    if (a === b) return 0;
    // a shortened or lengthened name (warmup → warmupEpochs, epsilon → eps)
    if (Math.min(a.length, b.length) >= 3 && (a.startsWith(b) || b.startsWith(a))) return 1;
    return distance(word, o);
  };
  const scored = options.map((o) => [o, near(o)] as const).sort((a, b) => a[1] - b[1]);
  const best = scored[0];
  return best && best[1] <= Math.max(2, Math.floor(word.length / 4))
    ? `; did you mean ${best[0]}?`
    : `; expected one of: ${options.join(', ')}`;
}

/** A value as a message shows it: strings quoted and called strings, so "0.1" is not mistaken for 0.1. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return `${JSON.stringify(v)} (a string)`;
  if (typeof v === 'boolean') return `${v} (a boolean)`;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `${short(JSON.stringify(v))} (an array)`;
  if (typeof v === 'object') return `${short(JSON.stringify(v))} (an object)`;
  return `a ${typeof v}`;
}

function short(t: string): string {
  return t.length > 40 ? `${t.slice(0, 37)}…` : t;
}

const fmt = (n: number) => String(n);

/** What a number must be, as a phrase after "must be": "a whole number >= 1", "in [0, 1)". */
function numberPhrase(n: NumberSchema): string {
  const kind = n.integer ? 'a whole number' : 'a number';
  const lo = n.min !== undefined ? ['[', n.min] : n.above !== undefined ? ['(', n.above] : null;
  const hi = n.max !== undefined ? [']', n.max] : n.below !== undefined ? [')', n.below] : null;
  if (lo && hi) return `${n.integer ? 'a whole number ' : ''}in ${lo[0]}${fmt(lo[1] as number)}, ${fmt(hi[1] as number)}${hi[0]}`;
  if (!n.integer && n.above === 0 && !hi) return 'a positive number';
  if (lo) return `${kind} ${lo[0] === '[' ? '>=' : '>'} ${fmt(lo[1] as number)}`;
  if (hi) return `${kind} ${hi[0] === ']' ? '<=' : '<'} ${fmt(hi[1] as number)}`;
  return kind;
}

export function describe(schema: Schema): string {
  switch (schema.type) {
    case 'number':
      return numberPhrase(schema);
    case 'string':
      return schema.enum ? `one of ${schema.enum.join(', ')}` : 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return `an array (each item ${describe(schema.items)})`;
    case 'object':
      return 'an object';
    case 'tagged':
      return `an object with "${schema.tag}": ${Object.keys(schema.variants).join(' | ')}`;
  }
}

// ---- validation ----------------------------------------------------------------------------

function fail(path: string, message: string): never {
  throw new PiatError('bad-config', `${path}${message.startsWith(':') || message.startsWith(' ') ? '' : ' '}${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks `value` against `schema`, recursively; throws PiatError('bad-config') whose message starts
 * with the dotted path of the first bad field (`path` names the root, e.g. "config").
 */
export function validate(value: unknown, schema: Schema, path: string): void {
  const mustBe = () => fail(path, `must be ${describe(schema)}, got ${show(value)}`);
  switch (schema.type) {
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) mustBe();
      const v = value as number;
      if (schema.integer && !Number.isInteger(v)) mustBe();
      if (schema.min !== undefined && v < schema.min) mustBe();
      if (schema.max !== undefined && v > schema.max) mustBe();
      if (schema.above !== undefined && v <= schema.above) mustBe();
      if (schema.below !== undefined && v >= schema.below) mustBe();
      return;
    }
    case 'string': {
      if (typeof value !== 'string') mustBe();
      const v = value as string;
      if (schema.enum && !schema.enum.includes(v))
        fail(path, `: '${v}' is not ${schema.noun ?? 'an allowed value'}${closest(v, schema.enum)}`);
      if (!schema.enum && !v) fail(path, 'must not be empty');
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') mustBe();
      return;
    case 'array': {
      if (!Array.isArray(value)) mustBe();
      const v = value as unknown[];
      if (schema.minItems !== undefined && v.length < schema.minItems)
        fail(path, `must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}, got ${v.length}`);
      if (schema.maxItems !== undefined && v.length > schema.maxItems)
        fail(path, `must have at most ${schema.maxItems} items, got ${v.length}`);
      v.forEach((item, i) => validate(item, schema.items, `${path}[${i}]`));
      return;
    }
    case 'object':
      if (!isObject(value)) mustBe();
      validateFields(value as Record<string, unknown>, schema, path, '');
      return;
    case 'tagged': {
      if (!isObject(value)) mustBe();
      const v = value as Record<string, unknown>;
      const names = Object.keys(schema.variants);
      const tag = v[schema.tag];
      const tagPath = `${path}.${schema.tag}`;
      if (tag === undefined) fail(tagPath, `: missing (${schema.noun}: ${names.join(', ')})`);
      if (typeof tag !== 'string') fail(tagPath, `must be one of ${names.join(', ')}, got ${show(tag)}`);
      const variant = schema.variants[tag as string];
      if (!variant) fail(tagPath, `: '${tag}' is not ${schema.noun}${closest(tag as string, names)}`);
      validateFields(v, variant, path, ` of ${schema.tag} '${tag}'`);
      return;
    }
  }
}

function validateFields(v: Record<string, unknown>, schema: ObjectSchema, path: string, owner: string): void {
  const allowed = Object.keys(schema.fields);
  // unknown keys first: a misspelt key is more helpful to report than the required one it stands for
  for (const k of Object.keys(v)) if (!(k in schema.fields)) fail(`${path}.${k}`, `: unknown field${owner}${closest(k, allowed)}`);
  for (const [k, f] of Object.entries(schema.fields)) {
    const x = v[k];
    if (x === undefined) {
      if (!f.optional) fail(`${path}.${k}`, `: ${f.missing ?? 'missing'}`);
      continue;
    }
    if (x === null && f.nullable) continue;
    validate(x, f.schema, `${path}.${k}`);
  }
  const bad = schema.check?.(v);
  if (bad) fail(bad[0] ? `${path}.${bad[0]}` : path, bad[1]);
}

// ---- JSON Schema (draft-07) for editors ----------------------------------------------------

type Json = Record<string, unknown>;

function meta(schema: Base): Json {
  return {
    ...(schema.description ? { description: schema.description } : {}),
    ...(schema.default !== undefined ? { default: schema.default } : {}),
  };
}

function objectJson(o: ObjectSchema, tag?: [string, string]): Json {
  const properties: Json = {};
  const required: string[] = [];
  for (const [k, f] of Object.entries(o.fields)) {
    let p = toJsonSchema(f.schema);
    if (tag && k === tag[0]) p = { const: tag[1] };
    properties[k] = f.nullable ? { anyOf: [p, { type: 'null' }] } : p;
    if (!f.optional) required.push(k);
  }
  return { type: 'object', ...meta(o), properties, ...(required.length ? { required } : {}), additionalProperties: false };
}

export function toJsonSchema(schema: Schema): Json {
  switch (schema.type) {
    case 'number': {
      const out: Json = { type: schema.integer ? 'integer' : 'number', ...meta(schema) };
      if (schema.min !== undefined) out.minimum = schema.min;
      if (schema.max !== undefined) out.maximum = schema.max;
      if (schema.above !== undefined) out.exclusiveMinimum = schema.above;
      if (schema.below !== undefined) out.exclusiveMaximum = schema.below;
      return out;
    }
    case 'string':
      return { type: 'string', ...meta(schema), ...(schema.enum ? { enum: [...schema.enum] } : { minLength: 1 }) };
    case 'boolean':
      return { type: 'boolean', ...meta(schema) };
    case 'array':
      return {
        type: 'array',
        ...meta(schema),
        items: toJsonSchema(schema.items),
        ...(schema.minItems !== undefined ? { minItems: schema.minItems } : {}),
        ...(schema.maxItems !== undefined ? { maxItems: schema.maxItems } : {}),
      };
    case 'object':
      return objectJson(schema);
    case 'tagged':
      return { ...meta(schema), oneOf: Object.entries(schema.variants).map(([name, v]) => objectJson(v, [schema.tag, name])) };
  }
}
