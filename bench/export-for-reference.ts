/**
 * Writes what bench/compare_reference.py needs to cross-check piat-ts against PyTorch references:
 * a trained model (tfjs format), N test images and labels (raw float32 NHWC / int32), and our
 * logits and robust accuracies (clean, PGD20, AutoAttack) on exactly those images.
 *
 * Usage: node dist/bench/export-for-reference.js OUT_DIR [--n 1000] [--eps 0.1] [--arch mlp|small-cnn] [--no-aa]
 *          [--model DIR] [--data mnist|fashion-mnist|...]
 * The model is PGD-AT-trained on the embedded MNIST digits for a few epochs (or re-used from
 * OUT_DIR/model); --model evaluates a saved checkpoint instead (e.g. a pool run's best/), on the
 * test split of --data (default mnist, the embedded digits). OURS.json names the model folder used.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { DatasetName, loadDataset, loadMnistDigits } from '../src/data/images';
import { PiatError } from '../src/util/errors';
import { mlp } from '../src/models/mlp';
import { smallCnn } from '../src/models/resnet';
import { pgdAt } from '../src/objectives/pgd-at';
import { train } from '../src/train/trainer';
import { loadModel, saveModel } from '../src/train/model-io';
import { evaluate } from '../src/eval/evaluate';
import { autoAttack, AutoAttackResult } from '../src/attacks/autoattack';
import { logits } from '../src/models/forward';
import { parseArgs } from '../src/cli';

async function main() {
  const a = parseArgs(['export', ...process.argv.slice(2)]);
  const out = a.rest[0];
  if (!out) throw new Error('usage: export-for-reference OUT_DIR [--n 1000] [--eps 0.1] [--arch mlp|small-cnn] [--no-aa]');
  const n = Number(a.flags.n ?? 1000);
  const eps = Number(a.flags.eps ?? 0.1);
  const arch = String(a.flags.arch ?? 'mlp');
  fs.mkdirSync(out, { recursive: true });
  await initBackend();
  const modelDir = a.flags.model ? String(a.flags.model) : path.join(out, 'model');
  let model: tf.LayersModel;
  if (fs.existsSync(path.join(modelDir, 'model.json'))) model = await loadModel(modelDir);
  else if (a.flags.model) throw new PiatError('missing-file', `--model ${modelDir}: no model.json there`);
  else {
    model =
      arch === 'mlp'
        ? mlp({ inputDim: 784, inputShape: [28, 28, 1], numClasses: 10, hidden: [128], seed: 1 })
        : smallCnn({ numClasses: 10, seed: 1 });
    await train({
      model,
      objective: pgdAt({ attack: { eps, alpha: eps / 4, steps: 5 } }),
      train: loadMnistDigits('train'),
      config: { epochs: 5, batchSize: 64, seed: 1, optimizer: { lr: 0.05, momentum: 0.9 } },
    });
    await saveModel(model, modelDir);
  }
  // loadDataset names an unknown dataset in its error; 'mnist' is the embedded digits
  const data = String(a.flags.data ?? 'mnist');
  const test = loadDataset(data as DatasetName, 'test').take(n);
  const { x, y } = test.head();
  fs.writeFileSync(path.join(out, 'images.bin'), Buffer.from((x.dataSync() as Float32Array).buffer));
  fs.writeFileSync(path.join(out, 'labels.bin'), Buffer.from((y.dataSync() as Int32Array).buffer));
  const z = tf.tidy(() => logits(model, x).arraySync() as number[][]);
  const rows = evaluate(model, test, { attacks: ['clean', 'pgd20'], eps, alpha: eps / 4, seed: 1 });
  const accuracy: Record<string, number> = Object.fromEntries(rows.map((r) => [r.attack, r.accuracy]));
  // AutoAttack directly (not through evaluate) for its per-stage log and per-image verdicts, which
  // compare_reference.py sets beside the reference's; resumable through its state file
  let aa: AutoAttackResult | undefined;
  if (!a.flags['no-aa']) {
    const t0 = Date.now();
    aa = autoAttack(model, test, { eps, seed: 1, statePath: path.join(out, 'aa-state.json') });
    accuracy.aa = aa.robustAccuracy;
    rows.push({ attack: 'aa', accuracy: aa.robustAccuracy, n, seconds: (Date.now() - t0) / 1000 });
  }
  fs.writeFileSync(
    path.join(out, 'ours.json'),
    JSON.stringify({
      model: path.resolve(modelDir),
      data,
      shape: x.shape,
      eps,
      alpha: eps / 4,
      logits: z,
      accuracy,
      rows,
      aaLog: aa?.log,
      aaRobust: aa?.robust,
    }),
  );
  console.log(JSON.stringify(rows.map((r) => ({ attack: r.attack, accuracy: r.accuracy, seconds: r.seconds }))));
  tf.dispose([x, y]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
