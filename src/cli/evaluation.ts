/**
 * The evaluation commands: robust accuracy of saved weights (eval), and the paired comparison of
 * finished runs (compare).
 */
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../backend';
import { PiatError, oneOf } from '../util/errors';
import { loadModel } from '../train/model-io';
import { evaluate } from '../eval/evaluate';
import { resolveAttack } from '../attacks/registry';
import { checkModel } from '../eval/checks';
import { defaultStep, PAPER_THREAT } from '../settings';
import { DATASETS, loadDataset } from '../data/images';
import { compareRuns, Checkpoint } from '../eval/compare-runs';
import { ARCHS, modelEntry } from '../models/registry';
import { loadTorch } from './pytorch';
import { formatDifference, verdictLabel } from '../stats';
import { Call } from './call';

export async function evalCommand({ a, backend }: Call): Promise<number> {
  // every option first: a bad one must not cost a model load or a clean pass
  const checkpoint = a.str('checkpoint');
  const torchFile = a.str('torch-checkpoint');
  const arch = a.str('arch');
  if ((checkpoint === undefined) === (torchFile === undefined))
    throw new PiatError(
      'bad-option',
      'eval needs one of --checkpoint DIR (a folder with model.json and weights.bin) or --torch-checkpoint FILE --arch NAME (a PyTorch checkpoint)',
    );
  if (checkpoint !== undefined && !fs.existsSync(path.join(checkpoint, 'model.json')))
    throw new PiatError('bad-option', `--checkpoint ${checkpoint}: no model.json there`);
  if (torchFile !== undefined) {
    if (arch === undefined) throw new PiatError('bad-option', `--torch-checkpoint needs --arch, one of: ${ARCHS.join(', ')}`);
    modelEntry(arch);
    if (!fs.existsSync(torchFile)) throw new PiatError('bad-option', `--torch-checkpoint ${torchFile}: no such file`);
  } else if (arch !== undefined)
    throw new PiatError('bad-option', '--arch goes with --torch-checkpoint (a tfjs checkpoint names its own architecture)');
  const dataName = oneOf('dataset (--data)', a.str('data') ?? '', DATASETS);
  const attacks = a.list('attacks') ?? [];
  if (!attacks.length) throw new PiatError('bad-option', '--attacks names at least one attack (comma-separated)');
  attacks.forEach(resolveAttack);
  const n = a.num('n', { integer: true, min: 1 });
  const eps = a.num('eps', { min: 0 }) ?? PAPER_THREAT.eps;
  const alpha = a.num('alpha', { above: 0 }) ?? defaultStep(eps);
  await initBackend(backend);
  const data = loadDataset(dataName, 'test', { dir: a.str('data-dir') });
  const model = torchFile !== undefined ? loadTorch(torchFile, arch!, data) : await loadModel(checkpoint!);
  // a softmax output, a randomised model or vanishing gradients make the numbers below too high: say so first
  const warnings = checkModel(model, data, { attacks });
  warnings.forEach((w) => console.error(`piat: warning (${w.check}): ${w.message}`));
  const rows = evaluate(model, data, {
    attacks,
    n,
    eps,
    alpha,
    // an interrupted AutoAttack resumes from this file
    aaStatePath:
      checkpoint !== undefined
        ? path.join(checkpoint, `autoattack-${dataName}-${n ?? 'all'}.state.json`)
        : `${torchFile}.autoattack-${dataName}-${n ?? 'all'}.state.json`,
  });
  const source = checkpoint !== undefined ? { checkpoint } : { torchCheckpoint: torchFile, arch };
  if (a.flag('json')) console.log(JSON.stringify({ ...source, data: dataName, eps, alpha, warnings, rows }, null, 2));
  else rows.forEach((r) => console.log(`${r.attack.padEnd(8)} ${(100 * r.accuracy).toFixed(2)}%  (n = ${r.n}, ${r.seconds.toFixed(1)} s)`));
  return 0;
}

export function compareCommand({ a }: Call): number {
  const runsA = a.list('a');
  if (!runsA?.length) throw new PiatError('bad-option', 'compare: --a names the run folders of side A (comma-separated, one per seed)');
  const bestVsFinal = a.flag('best-vs-final');
  if (bestVsFinal && (a.given('b') || a.given('which')))
    throw new PiatError('bad-option', 'compare: --best-vs-final compares the runs of --a with themselves; leave out --b and --which');
  const runsB = bestVsFinal ? runsA : a.list('b');
  if (!runsB?.length) throw new PiatError('bad-option', 'compare: --b names the run folders of side B (or use --best-vs-final)');
  const which = oneOf('--which', a.str('which') ?? '', ['best', 'final'] as const) as Checkpoint;
  const metric = oneOf('--metric', a.str('metric') ?? '', ['robust', 'clean'] as const);
  const attack = a.str('attack');
  if (attack) resolveAttack(attack);
  const side = (w: Checkpoint) => ({ which: w, metric, attack });
  const c = compareRuns(runsA, runsB, bestVsFinal ? { a: side('best'), b: side('final') } : { a: side(which), b: side(which) });
  const what = `${attack ?? `per-epoch ${metric}`} accuracy, ${bestVsFinal ? 'Best − Final' : `A − B at ${which}`}`;
  if (a.flag('json')) console.log(JSON.stringify({ what, ...c }, null, 2));
  else {
    const pts = (v: number) => (Number.isNaN(v) ? 'unknown' : `${(100 * Math.sqrt(v)).toFixed(2)} pts`);
    console.log(`${what}: ${formatDifference(c, 2)}`);
    console.log(`verdict on "${bestVsFinal ? 'Best is higher than Final' : 'A is higher than B'}": ${verdictLabel(c)}`);
    console.log(
      `standard errors: seeds ${pts(c.seedVariance)}, images ${pts(c.imageVariance)}; df ${c.df.toFixed(1)}; ${c.discordant} of ${c.n} images differ between the sides`,
    );
  }
  return 0;
}
