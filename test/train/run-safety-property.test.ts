/**
 * Issue 15, property: a valid run config mutated at random — a field at any depth dropped, renamed
 * or given another JSON type; 200 cases, fixed seed — either trains exactly like the original or
 * is refused with a message naming the field. Every mutant is run against the original's run
 * folder, as a user re-running a changed config would: it is refused by the config check, or by
 * the folder's identity (a different run), or it is accepted as the same run, and then it must be:
 * trained from scratch in a fresh folder, it gives the original's records and weights bit for bit.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { trainFromConfig, validateRunConfig } from '../../src/train/run-config';
import { PiatError } from '../../src/util/errors';
import { Rng } from '../../src/util/rng';
import { setup, tmpDir } from '../helpers';

before(setup);

const CASES = 200;
const SEED = 15;

/** Every optional field written out at its default (so dropping it must change nothing), plus the sections that may be absent. */
function baseConfig(runDir: string): Record<string, unknown> {
  const attack = { eps: 0.1, alpha: 0.05, steps: 1, norm: 'linf', clip: [0, 1] };
  return {
    dataset: 'mnist',
    trainSize: 16,
    testSize: 8,
    model: { arch: 'mlp', hidden: [6], seed: 2 },
    objective: { name: 'trades', beta: 6, attack },
    piat: { schedule: { kind: 'dynamic', betaMax: 0.99, a: 1, b: 10 }, warmupEpochs: 0 },
    averaging: { kind: 'ema', decay: 0.999 },
    train: {
      epochs: 1,
      batchSize: 8,
      seed: 2,
      optimizer: { lr: 0.05, momentum: 0.9, weightDecay: 0, nesterov: false, decayBiasAndNorm: true },
      lrSchedule: { kind: 'constant' },
      eval: { n: 8, batchSize: 256, attack: { ...attack, randomStart: true, loss: 'ce' } },
      keepEpochCheckpoints: false,
      microBatchSize: 8,
    },
    runDir,
  };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Dotted paths of every object field, at every depth. */
function fieldPaths(o: Obj, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => {
    const p = prefix ? `${prefix}.${k}` : k;
    return [p, ...(isObj(v) ? fieldPaths(v, p) : [])];
  });
}

function parentOf(root: Obj, p: string): [Obj, string] {
  const parts = p.split('.');
  let o = root;
  for (const k of parts.slice(0, -1)) o = o[k] as Obj;
  return [o, parts[parts.length - 1]];
}

/** A value of another JSON type than `v`. */
function retyped(v: unknown, rng: Rng): unknown {
  const pick = <T>(xs: T[]) => xs[rng.int(xs.length)];
  if (typeof v === 'number') return pick([String(v), [v], v !== 0, { value: v }]);
  if (typeof v === 'string') return pick([7, [v], true, { name: v }]);
  if (typeof v === 'boolean') return pick([String(v), v ? 1 : 0, [v]]);
  if (Array.isArray(v)) return pick([v.join(','), v[0], { ...v }]);
  return pick([[v], JSON.stringify(v), 1, true]);
}

/** A key that is not in `o`: a typo, a plural, a case change, or a synonym. */
function renamed(key: string, o: Obj, rng: Rng): string {
  const options = [
    `${key}s`,
    key.slice(0, -1),
    key.toUpperCase(),
    `${key}_`,
    key.length > 2 ? key[1] + key[0] + key.slice(2) : `x${key}`,
    `${key}Value`,
  ];
  const fresh = options.filter((k) => k && k !== key && !(k in o));
  return fresh[rng.int(fresh.length)];
}

interface Mutant {
  op: 'drop' | 'rename' | 'retype';
  path: string;
  /** the renamed field's path */
  to?: string;
  config: Obj;
}

function mutate(base: Obj, rng: Rng): Mutant {
  const config = structuredClone(base);
  const paths = fieldPaths(config);
  const p = paths[rng.int(paths.length)];
  const [parent, key] = parentOf(config, p);
  const op = (['drop', 'rename', 'retype'] as const)[rng.int(3)];
  if (op === 'drop') delete parent[key];
  else if (op === 'retype') parent[key] = retyped(parent[key], rng);
  else {
    const to = renamed(key, parent, rng);
    parent[to] = parent[key];
    delete parent[key];
    return { op, path: p, to: p.replace(/[^.]+$/, to), config };
  }
  return { op, path: p, config };
}

const stripTimes = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { trainSeconds: _a, evalSeconds: _b, ...r } = JSON.parse(l);
      return r;
    });

const escape = (s: string) => s.replace(/[.[\]]/g, (c) => `\\${c}`);

/** The message names the field: as the config check writes it (config.<path>) or as the run folder's identity does. */
function namesField(message: string, m: Mutant): boolean {
  const candidates = [m.path, ...(m.to ? [m.to] : [])];
  return candidates.some((p) => new RegExp(`(^|[\\s.])${escape(p)}(\\b|$)`, 'm').test(message));
}

test(`property: ${CASES} random mutations of a valid config either train exactly like it or are refused naming the field`, async (t) => {
  const origDir = tmpDir();
  const base = baseConfig(origDir);
  validateRunConfig(base);
  const orig = await trainFromConfig(base, { progress: false });
  assert.equal(orig.records.length, 1);
  const origRecords = stripTimes(path.join(origDir, 'records.jsonl'));
  const origWeights = fs.readFileSync(path.join(origDir, 'checkpoint', 'weights.bin'));

  const rng = new Rng(SEED);
  const outcomes = { config: 0, identity: 0, same: 0 };
  const trainedAlike = new Set<string>();
  for (let i = 0; i < CASES; i++) {
    const m = mutate(base, rng);
    const label = `case ${i}: ${m.op} ${m.path}${m.to ? ` → ${m.to}` : ''}`;
    try {
      validateRunConfig(m.config);
    } catch (e) {
      assert.ok(e instanceof PiatError && e.code === 'bad-config', `${label}: ${e}`);
      assert.ok(namesField(e.message, m), `${label}: the message does not name the field:\n${e.message}`);
      outcomes.config++;
      continue;
    }
    // a valid config: against the original's folder it is either refused as another run, or the same run
    try {
      await trainFromConfig(m.config, { progress: false });
    } catch (e) {
      assert.ok(e instanceof PiatError && e.code === 'config-mismatch', `${label}: ${e}`);
      assert.ok(namesField(e.message, m), `${label}: the message does not name the field:\n${e.message}`);
      outcomes.identity++;
      continue;
    }
    outcomes.same++;
    const key = JSON.stringify(m.config);
    if (trainedAlike.has(key)) continue;
    trainedAlike.add(key);
    const fresh = tmpDir();
    const r = await trainFromConfig({ ...m.config, runDir: fresh }, { progress: false });
    assert.equal(r.records.length, 1, label);
    assert.deepEqual(
      stripTimes(path.join(fresh, 'records.jsonl')),
      origRecords,
      `${label}: accepted as the same run, but its records differ`,
    );
    assert.ok(
      fs.readFileSync(path.join(fresh, 'checkpoint', 'weights.bin')).equals(origWeights),
      `${label}: accepted as the same run, but its weights differ`,
    );
    fs.rmSync(fresh, { recursive: true, force: true });
  }
  // the mutations reach all three outcomes (else the property would be vacuous)
  assert.ok(outcomes.config > 0 && outcomes.identity > 0 && outcomes.same > 0, JSON.stringify(outcomes));
  t.diagnostic(
    `${CASES} mutations: ${outcomes.config} refused by the config check, ${outcomes.identity} by the run folder, ${outcomes.same} the same run (${trainedAlike.size} distinct ones retrained alike)`,
  );
});
