/**
 * AutoAttack (Croce & Hein, ICML 2020) with the reference implementation's protocol
 * (fra31/auto-attack, autoattack.py): clean accuracy first; then each attack in turn runs only on
 * the points still robust, in batches; a point is robust only if every attack fails on it. The
 * log is the reference's: robust accuracy after each attack.
 *   standard: apgd-ce (1 restart), apgd-t (9 targets), fab-t (9 targets), square (5000 queries)
 *   plus:     apgd-ce (5), apgd-dlr (5), fab (untargeted, 5), square, apgd-t, fab-t
 *   rand:     apgd-ce, apgd-dlr (the reference adds EOT over 20 draws for randomised defences;
 *             not implemented here, so this is only meaningful for deterministic models)
 * With `statePath`, progress is saved after every batch and an interrupted run resumes there.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset, range } from '../../data/dataset';
import { correctFlags } from '../contract';
import { apgd, apgdTargeted } from './apgd';
import { squareAttack } from './square';
import { fabTargeted, fabUntargeted } from './fab';
import { PiatError } from '../../util/errors';
import { formatSeconds, Progress } from '../../util/progress';
import { writeFileAtomic } from '../../util/fsx';

export const AA_ATTACKS = ['apgd-ce', 'apgd-dlr', 'apgd-t', 'fab', 'fab-t', 'square'] as const;
export type AaAttack = (typeof AA_ATTACKS)[number];

export const AA_VERSIONS: Record<'standard' | 'plus' | 'rand', AaAttack[]> = {
  standard: ['apgd-ce', 'apgd-t', 'fab-t', 'square'],
  plus: ['apgd-ce', 'apgd-dlr', 'fab', 'square', 'apgd-t', 'fab-t'],
  rand: ['apgd-ce', 'apgd-dlr'],
};

export interface AutoAttackOptions {
  eps: number;
  norm?: 'linf';
  version?: 'standard' | 'plus' | 'rand' | 'custom';
  /** with version 'custom' */
  attacks?: AaAttack[];
  /** first n examples (default all) */
  n?: number;
  batchSize?: number;
  seed?: number;
  /** JSON file to save progress to and resume from */
  statePath?: string;
  progress?: boolean;
  /** per-attack settings (defaults: the reference's standard version) */
  apgdSteps?: number;
  targets?: number;
  squareQueries?: number;
  fabSteps?: number;
  /** checked after every batch: true stops the run (its state saved) and returns `interrupted` */
  shouldStop?: () => boolean;
}

export interface AutoAttackResult {
  /** robust accuracy after each stage, 'clean' first, as the reference prints it */
  log: { stage: string; robustAccuracy: number; seconds: number }[];
  robustAccuracy: number;
  /** per example: still robust after every attack */
  robust: boolean[];
  /** true when shouldStop ended the run early: run again with the same statePath to finish */
  interrupted?: boolean;
}

interface State {
  key: string;
  robust: boolean[];
  log: AutoAttackResult['log'];
  /** attack stages finished */
  done: number;
  /** batches of the current stage finished */
  batches: number;
  /** the robust points at the start of the current stage (its batches), kept while it runs */
  stageIdx?: number[];
  stageSeconds: number;
}

/** AutoAttack's budgets as one component reads them (the registry's entries call the same function). */
export type AaComponentOptions = Pick<AutoAttackOptions, 'eps' | 'version' | 'apgdSteps' | 'targets' | 'squareQueries' | 'fabSteps'> & {
  seed: number;
};

/** One AutoAttack component on a batch, with the version's restarts (5 in plus, else 1) and the budgets' defaults (the standard version's). */
export function runAaComponent(name: AaAttack, model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, o: AaComponentOptions): tf.Tensor {
  const restarts = o.version === 'plus' ? 5 : 1;
  const { eps, seed } = o;
  switch (name) {
    case 'apgd-ce':
    case 'apgd-dlr':
      return apgd(model, x, y, { eps, steps: o.apgdSteps ?? 100, restarts, loss: name === 'apgd-ce' ? 'ce' : 'dlr', seed }).adv;
    case 'apgd-t':
      return apgdTargeted(model, x, y, { eps, steps: o.apgdSteps ?? 100, targets: o.targets ?? 9, seed }).adv;
    case 'fab':
      return fabUntargeted(model, x, y, { eps, steps: o.fabSteps ?? 100, restarts, seed }).adv;
    case 'fab-t':
      return fabTargeted(model, x, y, { eps, steps: o.fabSteps ?? 100, targets: o.targets ?? 9, seed }).adv;
    case 'square':
      return squareAttack(model, x, y, { eps, queries: o.squareQueries ?? 5000, seed }).adv;
  }
}

export function autoAttack(model: tf.LayersModel, data: ArrayDataset, o: AutoAttackOptions): AutoAttackResult {
  const version = o.version ?? 'standard';
  const attacks = version === 'custom' ? (o.attacks ?? []) : AA_VERSIONS[version];
  if (!attacks.length) throw new PiatError('bad-option', "AutoAttack version 'custom' needs a non-empty attacks list");
  for (const a of attacks)
    if (!AA_ATTACKS.includes(a))
      throw new PiatError('unknown-option', `Unknown AutoAttack attack '${a}'. Expected one of: ${AA_ATTACKS.join(', ')}.`);
  if (!(o.eps > 0)) throw new PiatError('bad-option', `AutoAttack eps must be > 0, got ${o.eps}`);
  const n = Math.min(o.n ?? data.size, data.size);
  const bs = o.batchSize ?? 250;
  const key = JSON.stringify({
    attacks,
    eps: o.eps,
    n,
    bs,
    seed: o.seed ?? 0,
    data: data.name,
    apgd: o.apgdSteps,
    t: o.targets,
    q: o.squareQueries,
    fab: o.fabSteps,
  });
  let state: State | null = null;
  if (o.statePath && fs.existsSync(o.statePath)) {
    const s = JSON.parse(fs.readFileSync(o.statePath, 'utf8')) as State;
    if (s.key !== key)
      throw new PiatError(
        'config-mismatch',
        `${o.statePath} belongs to another AutoAttack run (different attacks, ε, data or size); delete it to start over.`,
      );
    state = s;
  }
  const save = () => o.statePath && state && writeFileAtomic(o.statePath, JSON.stringify(state));

  if (!state) {
    const t0 = Date.now();
    const robust: boolean[] = [];
    for (let s = 0; s < n; s += bs) {
      const { x, y } = data.batch(range(Math.min(n, s + bs)).subarray(s));
      robust.push(...correctFlags(model, x, y));
      tf.dispose([x, y]);
    }
    state = {
      key,
      robust,
      log: [{ stage: 'clean', robustAccuracy: robust.filter(Boolean).length / n, seconds: (Date.now() - t0) / 1000 }],
      done: 0,
      batches: 0,
      stageSeconds: 0,
    };
    save();
  }
  const st = state;
  for (let a = st.done; a < attacks.length; a++) {
    const name = attacks[a];
    const idx = st.robust.map((r, i) => (r ? i : -1)).filter((i) => i >= 0);
    // the batches of this stage are fixed by the robust set at its start, which the state keeps
    const stageIdx = st.batches === 0 ? idx : (st.stageIdx ?? idx);
    st.stageIdx = stageIdx;
    const nb = Math.ceil(stageIdx.length / bs);
    const progress = new Progress({ label: `AutoAttack ${name}`, total: nb, keepOpen: true, enabled: o.progress !== false });
    for (let b = st.batches; b < nb; b++) {
      const t0 = Date.now();
      const ids = stageIdx.slice(b * bs, (b + 1) * bs);
      const { x, y } = data.batch(Int32Array.from(ids));
      const adv = runAaComponent(name, model, x, y, { ...o, seed: (o.seed ?? 0) * 7 + a });
      // like the reference: success is judged by the model's prediction on the returned input
      const correct = correctFlags(model, adv, y);
      ids.forEach((id, j) => !correct[j] && (st.robust[id] = false));
      tf.dispose([x, y, adv]);
      st.batches = b + 1;
      st.stageSeconds += (Date.now() - t0) / 1000;
      save();
      progress.tick(1, `robust ${((100 * st.robust.filter(Boolean).length) / n).toFixed(2)}%`);
      if (o.shouldStop?.() && (b + 1 < nb || a + 1 < attacks.length)) {
        progress.finish(`AutoAttack ${name}: stopped after batch ${b + 1}/${nb}`);
        return { log: st.log, robustAccuracy: st.robust.filter(Boolean).length / n, robust: st.robust, interrupted: true };
      }
    }
    st.log.push({ stage: name, robustAccuracy: st.robust.filter(Boolean).length / n, seconds: st.stageSeconds });
    st.done = a + 1;
    st.batches = 0;
    st.stageSeconds = 0;
    delete st.stageIdx;
    save();
    const stage = st.log[st.log.length - 1];
    progress.finish(`AutoAttack ${name} · robust accuracy ${(100 * stage.robustAccuracy).toFixed(2)}% · ${formatSeconds(stage.seconds)}`);
  }
  return { log: st.log, robustAccuracy: st.robust.filter(Boolean).length / n, robust: st.robust };
}

export * from './apgd';
export * from './square';
export * from './losses';
export * from './fab';
