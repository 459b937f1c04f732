/**
 * Every objective of the registry (src/objectives/registry.ts): its documented defaults are the ones
 * its factory records, and one adversarial batch and loss on a tiny ViT give a finite loss with named
 * parts. A new registry entry is picked up here without editing this file.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { vit } from '../../src/models/vit';
import { makeObjective, OBJECTIVE_IDS, objectiveEntry } from '../../src/objectives/registry';
import { PAPER_TRAIN_ATTACK } from '../../src/settings';
import { Rng } from '../../src/util/rng';
import { setup } from '../helpers';

before(setup);

const env = { numClasses: 3 };
// A&P is the one objective with a required option: the ViT's patch size
const required: Record<string, Record<string, unknown>> = { ap: { patch: 4 } };

for (const id of OBJECTIVE_IDS) {
  test(`objective registry: ${id} records its documented defaults and gives a finite loss with named parts`, () => {
    const e = objectiveEntry(id);
    assert.ok(e.paperName && e.summary.length > 10, `${id}: paper name and summary`);
    const o = makeObjective(id, required[id] ?? {}, env);
    for (const [k, f] of Object.entries(e.options)) {
      // an option added later may be recorded only when it differs from its default (old run folders keep their identity)
      if (f.schema.default !== undefined && k in o.config)
        assert.deepEqual(o.config[k], f.schema.default, `${id}.${k}: the registry's default is the factory's`);
    }
    const attack = (o.config.attack ?? (o.config.inner as Record<string, unknown> | undefined)?.attack) as object | undefined;
    if (attack) assert.deepEqual(attack, PAPER_TRAIN_ATTACK, `${id}: the default training attack`);

    const model = vit({ numClasses: env.numClasses, inputShape: [8, 8, 1], patch: 4, dim: 8, depth: 1, heads: 2, seed: 3 });
    const x = tf.randomUniform([6, 8, 8, 1], 0, 1, 'float32', 4);
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
    const ctx = { rng: new Rng(5), epoch: 0 };
    const xAdv = o.adversarial(model, x, y, ctx);
    const parts = tf.tidy(() => {
      const r = o.loss(model, x, xAdv, y, ctx);
      return { total: r.loss.dataSync()[0], ...Object.fromEntries(Object.entries(r.parts).map(([k, v]) => [k, v.dataSync()[0]])) };
    });
    assert.ok(Object.keys(parts).length > 1, `${id}: named parts`);
    for (const [k, v] of Object.entries(parts)) assert.ok(Number.isFinite(v), `${id}: ${k} = ${v}`);
    o.onEpochEnd?.(0);
    tf.dispose([x, y, ...(xAdv ? [xAdv] : [])]);
    model.dispose();
  });
}

test('objective registry: an unknown id is named with the list', () => {
  assert.throws(() => makeObjective('pgd_at', {}, env), /Unknown objective 'pgd_at'\. Expected one of: standard, pgd-at, /);
});
