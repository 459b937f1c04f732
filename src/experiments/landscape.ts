/**
 * Notebook 09, Fig. 8: the loss landscape around the Final weights of PGD-AT and of PIAT (PIAT
 * around PGD-AT, so that only the framework differs), on PGD examples of a fixed test batch.
 * Both models come from the shared pool (pool.ts); the same seeded, filter-normalised directions
 * are used for both.
 */
import * as path from 'path';
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { Landscape, landscapeContours, lossLandscape, landscapeStats } from '../analysis/landscape';
import { loadModel } from '../train/model-io';
import { readJson, writeFileAtomic } from '../util/fsx';
import { Profile } from './profiles';
import { LandscapeConfig, LANDSCAPE_PROFILES, recipe } from './recipes';
import { finalWeightsDir, poolConfig, poolData, tableDatasets, trainPool, weightsCacheKey } from './pool';

export const LANDSCAPE_METHODS = ['PGD-AT', 'PIAT'];

export interface MethodLandscape {
  method: string;
  landscape: Landscape;
}

/** Trains (or re-uses) the two models and computes (or re-uses) their landscapes. */
export async function runLandscapes(
  profile: Profile,
  o: { config?: LandscapeConfig; progress?: boolean } = {},
): Promise<MethodLandscape[]> {
  const lc = o.config ?? recipe(LANDSCAPE_PROFILES, profile);
  const pc = poolConfig(profile, { dataset: tableDatasets(profile, ['cifar10'])[0], arch: 'resnet18' });
  const data = poolData(pc);
  const runs = await trainPool(profile, pc, LANDSCAPE_METHODS, { progress: o.progress, data });
  const out: MethodLandscape[] = [];
  for (const run of runs) {
    const dir = finalWeightsDir(run.runDir);
    const cache = path.join(run.runDir, `landscape-${weightsCacheKey({ lc, attack: pc.evalAttack }, dir)}.json`);
    if (fs.existsSync(cache)) {
      const c = readJson<{ coords: number[]; loss: number[] }>(cache);
      out.push({ method: run.method, landscape: { coords: c.coords, loss: Float32Array.from(c.loss) } });
      continue;
    }
    const model = await loadModel(dir);
    const { x, y } = data.test.head(lc.n);
    const landscape = lossLandscape(model, x, y, {
      range: lc.range,
      resolution: lc.resolution,
      seed: lc.seed,
      attack: pc.evalAttack,
      progress: o.progress,
      label: `${run.method} · loss landscape, PGD-${pc.evalAttack.steps} on ${lc.n} test images, points`,
    });
    tf.dispose([x, y]);
    model.dispose();
    writeFileAtomic(cache, JSON.stringify({ coords: landscape.coords, loss: Array.from(landscape.loss) }));
    out.push({ method: run.method, landscape });
  }
  return out;
}

/** Grid rows {method, a, b, loss} for the heat map. */
export function landscapeRows(ls: MethodLandscape[]) {
  return ls.flatMap(({ method, landscape: l }) => {
    const r = l.coords.length;
    return Array.from(l.loss, (loss, k) => ({ method, a: l.coords[k % r], b: l.coords[Math.floor(k / r)], loss }));
  });
}

/** Contour segments at shared levels (quantiles of all losses), tagged by method. */
export function landscapeContourRows(ls: MethodLandscape[], count = 6) {
  const all = ls.flatMap((m) => Array.from(m.landscape.loss)).sort((a, b) => a - b);
  const levels = Array.from({ length: count }, (_, i) => all[Math.floor(((i + 1) * all.length) / (count + 1))]);
  return ls.flatMap((m) => landscapeContours(m.landscape, levels).map((s) => ({ ...s, method: m.method })));
}

export function landscapeTable(ls: MethodLandscape[]) {
  return ls.map((m) => ({ method: m.method, ...landscapeStats(m.landscape) }));
}

export function landscapeSummary(ls: MethodLandscape[], profile: Profile): string {
  const t = landscapeTable(ls);
  const at = t.find((r) => r.method === 'PGD-AT');
  const pi = t.find((r) => r.method === 'PIAT');
  const f = (v: number) => v.toFixed(3);
  const lines = [
    '**Paper (Fig. 8, CIFAR-10, PGD20 loss):** compared with PGD-AT, the model trained with PIAT shows less fluctuation of the loss as the parameters move, i.e. it converges to a flatter region.',
    '',
    '| method | loss at θ* | mean over the grid | max | mean rise above θ* |',
    '|---|---|---|---|---|',
    ...t.map((r) => `| ${r.method} | ${f(r.center)} | ${f(r.mean)} | ${f(r.max)} | ${f(r.meanRise)} |`),
  ];
  if (at && pi) {
    const flatter = pi.meanRise < at.meanRise;
    // one seed and one pair of directions: there is no spread to hold the difference against
    lines.push(
      '',
      `**Here:** the mean rise of the loss around θ* is ${f(pi.meanRise)} for PIAT and ${f(at.meanRise)} for PGD-AT (PIAT ${flatter ? 'flatter' : 'not flatter'}): the flatness claim is **inconclusive** — one seed and one pair of directions give no uncertainty to compare the difference with.` +
        (profile !== 'paper' ? ' (Small CNN on Fashion-MNIST, few epochs, a coarse grid: a qualitative check.)' : ''),
    );
  }
  return lines.join('\n');
}
