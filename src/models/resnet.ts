/**
 * ResNet-18 (CIFAR variant: 3×3 stem, no max-pool; He et al. 2016, as in the adversarial-training
 * literature's PyTorch code), PreAct ResNet-18 (He et al. 2016b), and WideResNet (Zagoruyko &
 * Komodakis 2016, the TRADES/MART code's variant). Published parameter counts: ResNet-18
 * 11,173,962; PreAct ResNet-18 11,171,146; WRN-34-10 46,160,474 (10 classes).
 */
import * as tf from '@tensorflow/tfjs';
import { add, bn, conv, normalise, Normalisation, relu } from './layers';

type T = tf.SymbolicTensor;

export interface ConvNetOptions {
  numClasses: number;
  /** default [32, 32, 3] */
  inputShape?: [number, number, number];
  /** per-channel normalisation inside the model (default: none, inputs in [0, 1] go in as they are) */
  normalisation?: Normalisation;
  seed: number;
  /** ResNets: the first stage's width, doubled at each stage (default 64, the published networks; smaller for tests) */
  baseWidth?: number;
}

/** Runs `body` between the input (optionally normalised) and the classifier head. */
function assemble(o: ConvNetOptions, name: string, body: (x: T, seed: () => number) => T): tf.LayersModel {
  const input = tf.input({ shape: o.inputShape ?? [32, 32, 3] });
  let seed = o.seed;
  const next = () => seed++;
  let x: T = input;
  let init: ((m: tf.LayersModel) => void) | null = null;
  if (o.normalisation) {
    const n = normalise(input, (o.inputShape ?? [32, 32, 3])[2], o.normalisation);
    x = n.out;
    init = n.init;
  }
  const features = body(x, next);
  const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(features) as T;
  const logits = tf.layers
    .dense({ units: o.numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: next() }), name: 'fc' })
    .apply(pooled) as T;
  const model = tf.model({ inputs: input, outputs: logits, name });
  init?.(model);
  return model;
}

function basicBlock(x: T, inC: number, outC: number, stride: number, p: string, seed: () => number): T {
  let h = relu(bn(conv(x, outC, 3, stride, `${p}.conv1`, seed()), `${p}.bn1`), `${p}.relu1`);
  h = bn(conv(h, outC, 3, 1, `${p}.conv2`, seed()), `${p}.bn2`);
  const short = stride !== 1 || inC !== outC ? bn(conv(x, outC, 1, stride, `${p}.shortcut.conv`, seed()), `${p}.shortcut.bn`) : x;
  return relu(add(h, short, `${p}.add`), `${p}.relu2`);
}

function preActBlock(x: T, inC: number, outC: number, stride: number, p: string, seed: () => number): T {
  const a = relu(bn(x, `${p}.bn1`), `${p}.relu1`);
  const short = stride !== 1 || inC !== outC ? conv(a, outC, 1, stride, `${p}.shortcut`, seed()) : x;
  let h = conv(a, outC, 3, stride, `${p}.conv1`, seed());
  h = conv(relu(bn(h, `${p}.bn2`), `${p}.relu2`), outC, 3, 1, `${p}.conv2`, seed());
  return add(h, short, `${p}.add`);
}

function resnetStages(x: T, block: typeof basicBlock, blocks: number[], seed: () => number, base: number): T {
  let inC = base;
  [base, 2 * base, 4 * base, 8 * base].forEach((c, s) => {
    for (let b = 0; b < blocks[s]; b++) {
      x = block(x, inC, c, b === 0 && s > 0 ? 2 : 1, `layer${s + 1}.${b}`, seed);
      inC = c;
    }
  });
  return x;
}

export function resnet18(o: ConvNetOptions): tf.LayersModel {
  return assemble(o, 'resnet18', (x, seed) => {
    const base = o.baseWidth ?? 64;
    const stem = relu(bn(conv(x, base, 3, 1, 'conv1', seed()), 'bn1'), 'relu');
    return resnetStages(stem, basicBlock, [2, 2, 2, 2], seed, base);
  });
}

/**
 * PreAct ResNet-18. `finalNorm` (default true, as He et al. 2016b and the robust-overfitting code
 * of Rice et al.) adds the last BN-ReLU before pooling: 11,172,170 parameters; without it (the
 * widely copied pytorch-cifar variant) 11,171,146.
 */
export function preActResnet18(o: ConvNetOptions & { finalNorm?: boolean }): tf.LayersModel {
  return assemble(o, 'preact_resnet18', (x, seed) => {
    const base = o.baseWidth ?? 64;
    const h = resnetStages(conv(x, base, 3, 1, 'conv1', seed()), preActBlock, [2, 2, 2, 2], seed, base);
    return o.finalNorm === false ? h : relu(bn(h, 'bn_final'), 'relu_final');
  });
}

function wideBlock(x: T, inC: number, outC: number, stride: number, p: string, seed: () => number): T {
  const a = relu(bn(x, `${p}.bn1`), `${p}.relu1`);
  const equal = inC === outC;
  let h = conv(a, outC, 3, stride, `${p}.conv1`, seed());
  h = conv(relu(bn(h, `${p}.bn2`), `${p}.relu2`), outC, 3, 1, `${p}.conv2`, seed());
  // as the TRADES/MART code: the shortcut convolves the pre-activated input when widths differ
  const short = equal ? x : conv(a, outC, 1, stride, `${p}.shortcut`, seed());
  return add(h, short, `${p}.add`);
}

export interface WideResNetOptions extends ConvNetOptions {
  /** 6n + 4: 34 → 5 blocks per group, 28 → 4 */
  depth: number;
  /** widen factor (10 in the paper) */
  width: number;
}

/**
 * WideResNet-depth-width. The paper's "WRN-32-10" (Madry et al.'s naming: 3 groups × 5 blocks ×
 * 2 convs + stem + head = 32 layers) is this network with depth 34 (Zagoruyko's count, which
 * also counts the shortcut convolutions): `wrn32_10` builds it.
 */
export function wideResNet(o: WideResNetOptions): tf.LayersModel {
  if ((o.depth - 4) % 6 !== 0) throw new Error(`WideResNet depth must be 6n + 4 (e.g. 28, 34), got ${o.depth}`);
  const n = (o.depth - 4) / 6;
  const widths = [16 * o.width, 32 * o.width, 64 * o.width];
  return assemble(o, `wrn_${o.depth}_${o.width}`, (x, seed) => {
    let h = conv(x, 16, 3, 1, 'conv1', seed());
    let inC = 16;
    widths.forEach((c, g) => {
      for (let b = 0; b < n; b++) {
        h = wideBlock(h, inC, c, b === 0 && g > 0 ? 2 : 1, `block${g + 1}.${b}`, seed);
        inC = c;
      }
    });
    return relu(bn(h, 'bn_final'), 'relu_final');
  });
}

export const wrn34_10 = (o: ConvNetOptions) => wideResNet({ ...o, depth: 34, width: 10 });
export const wrn32_10 = wrn34_10;

/** A small CNN for 28×28 (or 32×32) inputs: the quick profile's model. */
export function smallCnn(o: ConvNetOptions & { widths?: [number, number, number] }): tf.LayersModel {
  const [a, b, c] = o.widths ?? [32, 64, 128];
  return assemble({ ...o, inputShape: o.inputShape ?? [28, 28, 1] }, 'small_cnn', (x, seed) => {
    let h = relu(bn(conv(x, a, 3, 1, 'conv1', seed()), 'bn1'), 'relu1');
    h = relu(bn(conv(h, b, 3, 2, 'conv2', seed()), 'bn2'), 'relu2');
    h = relu(bn(conv(h, c, 3, 2, 'conv3', seed()), 'bn3'), 'relu3');
    return h;
  });
}
