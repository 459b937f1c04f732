/**
 * The schema language of JSON configs (run configs, the trainer's config, the registries' options).
 * A config is described once, as plain data built with `s` (s.obj, s.num, s.tagged, …); that
 * description is compiled to a zod schema, which checks values (validate: every nested object,
 * types, ranges, unknown keys) and gives the JSON Schema for editors (toJsonSchema, through
 * z.toJSONSchema). The descriptions stay plain data so that the registries can list their options
 * with documented defaults and tests can read them (field.schema.default) without zod's types.
 * Every zod check carries a message in our words: it names the field the way users write it
 * (config.train.optimizer.lr), says what was found ("0.1" (a string)), and suggests the nearest
 * name for an unknown key or value (did you mean …?).
 */
import { z } from 'zod';
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

// ---- the zod schema a description compiles to ----------------------------------------------

/** What zod hands an error function: the value at fault, and for an object the keys it does not know. */
interface RawIssue {
  code?: string;
  input?: unknown;
  keys?: string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The message of every check at one place: `wrong` says what the value should have been; a
 * required field that is absent gets its own `missing` message instead. A message that starts
 * with ':' follows the path directly ("config.runDir: missing"), others after a space.
 */
function errorAt(wrong: (v: unknown) => string, missing?: string) {
  return (iss: RawIssue): string => (iss.input === undefined && missing !== undefined ? `: ${missing}` : wrong(iss.input));
}

const mustBe = (schema: Schema) => (v: unknown) => `must be ${describe(schema)}, got ${show(v)}`;

/** description and default go into the JSON Schema through zod's metadata; they change nothing in the check */
function withMeta<T extends z.ZodType>(t: T, schema: Base): T {
  const meta = {
    ...(schema.description ? { description: schema.description } : {}),
    ...(schema.default !== undefined ? { default: schema.default } : {}),
  };
  return Object.keys(meta).length ? t.meta(meta) : t;
}

/**
 * The zod schema checking `schema` (a fresh one per place, so that each carries its own messages:
 * `missing` is the message of a required field left out).
 */
function compile(schema: Schema, missing?: string): z.ZodType {
  const error = errorAt(mustBe(schema), missing);
  switch (schema.type) {
    case 'number': {
      let t = z.number({ error });
      if (schema.integer) t = t.int({ error });
      if (schema.min !== undefined) t = t.min(schema.min, { error });
      if (schema.max !== undefined) t = t.max(schema.max, { error });
      if (schema.above !== undefined) t = t.gt(schema.above, { error });
      if (schema.below !== undefined) t = t.lt(schema.below, { error });
      return withMeta(t, schema);
    }
    case 'string': {
      if (!schema.enum) return withMeta(z.string({ error }).min(1, { error: () => 'must not be empty' }), schema);
      const values = schema.enum;
      const notOne = (v: unknown) =>
        typeof v === 'string' ? `: '${v}' is not ${schema.noun ?? 'an allowed value'}${closest(v, values)}` : mustBe(schema)(v);
      return withMeta(z.enum(values as [string, ...string[]], { error: errorAt(notOne, missing) }), schema);
    }
    case 'boolean':
      return withMeta(z.boolean({ error }), schema);
    case 'array': {
      const { minItems, maxItems } = schema;
      const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);
      let t = z.array(compile(schema.items), { error });
      if (minItems !== undefined)
        t = t.min(minItems, { error: (iss) => `must have at least ${minItems} item${minItems === 1 ? '' : 's'}, got ${count(iss.input)}` });
      if (maxItems !== undefined) t = t.max(maxItems, { error: (iss) => `must have at most ${maxItems} items, got ${count(iss.input)}` });
      return withMeta(t, schema);
    }
    case 'object':
      return compileObject(schema, missing, '');
    case 'tagged': {
      const names = Object.keys(schema.variants);
      const variants = names.map((name) =>
        compileObject(schema.variants[name], undefined, ` of ${schema.tag} '${name}'`, [schema.tag, name]),
      );
      const wrongTag = (v: unknown) => {
        if (!isObject(v)) return mustBe(schema)(v);
        const tag = v[schema.tag];
        if (tag === undefined) return `: missing (${schema.noun}: ${names.join(', ')})`;
        if (typeof tag !== 'string') return `must be one of ${names.join(', ')}, got ${show(tag)}`;
        return `: '${tag}' is not ${schema.noun}${closest(tag, names)}`;
      };
      const t = z.discriminatedUnion(schema.tag, variants as [z.ZodObject, ...z.ZodObject[]], { error: errorAt(wrongTag, missing) });
      return withMeta(t, schema);
    }
  }
}

/**
 * A strict object (unknown keys refused with a suggestion; `owner` names the variant in that
 * message). A variant of a tagged schema has its tag field fixed to its own name: `tag` is [field, name].
 */
function compileObject(o: ObjectSchema, missing: string | undefined, owner: string, tag?: [string, string]): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, f] of Object.entries(o.fields)) {
    let t = tag?.[0] === k ? z.literal(tag[1]) : compile(f.schema, f.optional ? undefined : (f.missing ?? 'missing'));
    if (f.nullable) t = t.nullable();
    if (f.optional) t = t.optional();
    shape[k] = t;
  }
  const allowed = Object.keys(o.fields);
  const wrong = errorAt(mustBe(o), missing);
  let t = z.strictObject(shape, {
    error: (iss: RawIssue) =>
      iss.code === 'unrecognized_keys' ? `: unknown field${owner}${closest(iss.keys?.[0] ?? '', allowed)}` : wrong(iss),
  });
  const check = o.check;
  if (check)
    t = t.superRefine((value, ctx) => {
      // only an object whose every field is right is checked as a whole
      if (ctx.issues.length) return;
      const bad = check(value);
      if (bad) ctx.addIssue({ code: 'custom', message: bad[1], path: bad[0] ? [bad[0]] : [], input: value });
    });
  return withMeta(t, o);
}

const compiled = new WeakMap<Schema, z.ZodType>();

/** The zod schema of a description, compiled once. */
function zodOf(schema: Schema): z.ZodType {
  let t = compiled.get(schema);
  if (!t) compiled.set(schema, (t = compile(schema)));
  return t;
}

// ---- validation ----------------------------------------------------------------------------

/** "config" + ['train', 'lrSchedule', 'milestones', 1] → "config.train.lrSchedule.milestones[1]" */
function where(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : `${p}.${String(k)}`), root);
}

const samePath = (a: readonly PropertyKey[], b: readonly PropertyKey[]) => a.length === b.length && a.every((k, i) => k === b[i]);

/**
 * The issue to report: zod lists them field by field in the schema's order, each object's unknown
 * keys after its fields; an unknown key is reported before anything inside its object, since a
 * misspelt key is more helpful to name than the required field it stands for.
 */
function firstIssue(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue {
  const first = issues[0];
  for (let depth = 0; depth <= first.path.length; depth++) {
    const unknown = issues.find((i) => i.code === 'unrecognized_keys' && samePath(i.path, first.path.slice(0, depth)));
    if (unknown) return unknown;
  }
  return first;
}

/**
 * Checks `value` against `schema`, recursively; throws PiatError('bad-config') whose message starts
 * with the dotted path of the first bad field (`path` names the root, e.g. "config").
 */
export function validate(value: unknown, schema: Schema, path: string): void {
  const r = zodOf(schema).safeParse(value);
  if (r.success) return;
  const issue = firstIssue(r.error.issues);
  const at = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  const message = issue.message;
  throw new PiatError('bad-config', `${where(path, at)}${message.startsWith(':') || message.startsWith(' ') ? '' : ' '}${message}`);
}

// ---- JSON Schema (draft-07) for editors ----------------------------------------------------

type Json = Record<string, unknown>;

/** The JSON Schema (draft-07) of a description, without its "$schema" line (the caller's file has it). */
export function toJsonSchema(schema: Schema): Json {
  const { $schema: _, ...body } = z.toJSONSchema(zodOf(schema), {
    target: 'draft-7',
    io: 'input',
    // zod bounds every integer to the safe range; a config's whole numbers need no such bound written out
    override: ({ jsonSchema: j }) => {
      if (j.type !== 'integer') return;
      if (j.minimum === Number.MIN_SAFE_INTEGER) delete j.minimum;
      if (j.maximum === Number.MAX_SAFE_INTEGER) delete j.maximum;
    },
  }) as Json;
  return body;
}
