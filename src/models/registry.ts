/**
 * Every architecture by its name, in one table: run configs (`model.arch`), the experiments and the
 * shared pool build their networks through `buildModel`. Adding an architecture is its own file,
 * one entry here and its test (docs/contributing.md).
 */
import * as tf from '@tensorflow/tfjs';
import { Field, s } from '../util/schema';
import { PiatError } from '../util/errors';
import { mlp } from './mlp';
import { preActResnet18, resnet18, smallCnn, wrn34_10 } from './resnet';
import { cnnFc, CNN_FC_HIDDEN } from './cnn-fc';
import { convitBase, deitSmall, vit, vitBase } from './vit';
import { Normalisation } from './layers';

/** What the data decides about a network: its input shape and class count; and the initialisation seed. */
export interface ModelInput {
  numClasses: number;
  /** one example's shape: [features] for vectors, [h, w, c] for images */
  inputShape: number[];
  seed: number;
}

/** The architecture-specific options, all optional (each entry's defaults apply). */
export interface ModelOptions {
  /** mlp: hidden layer widths (default [64]) */
  hidden?: number[];
  /** small-cnn: the three convolutions' widths (default [32, 64, 128]) */
  widths?: [number, number, number];
  /** ViTs: patch size in pixels (default 4) */
  patch?: number;
  /** cnn-fc: the width of its two fully connected hidden layers (default 200) */
  fcWidth?: number;
  /** conv nets and ViTs: per-channel (x − mean)/std inside the model (pretrained weights expect their own); a code option */
  normalisation?: Normalisation;
}

/** What kind of network an architecture is: experiments choose their settings by it (a ViT trains as Table IV's). */
export type ArchFamily = 'mlp' | 'conv' | 'vit';

export interface ModelEntry {
  summary: string;
  family: ArchFamily;
  source: string;
  /** 'vector' takes any input shape (flattened inside), 'image' needs [h, w, c] */
  input: 'vector' | 'image';
  /** the options a run config may write for it, with their defaults */
  options: Record<string, Field>;
  /** the options that tell two runs apart, defaults filled in (a run folder's identity) */
  identity(o: ModelOptions): Record<string, unknown>;
  build(i: ModelInput, o: ModelOptions): tf.LayersModel;
}

const MLP_HIDDEN = [64];
const VIT_PATCH = 4;

const image = (i: ModelInput): [number, number, number] => i.inputShape as [number, number, number];
const conv = (
  summary: string,
  source: string,
  build: (i: ModelInput, o: ModelOptions) => tf.LayersModel,
): ModelEntry & { family: 'conv' } => ({
  summary,
  family: 'conv',
  source,
  input: 'image',
  options: {},
  identity: () => ({}),
  build,
});
const patchOption = {
  patch: s.opt(s.int({ min: 1, default: VIT_PATCH, description: 'patch size in pixels (must divide the image side)' })),
};
const vitEntry = (
  summary: string,
  source: string,
  build: (i: ModelInput, patch: number, normalisation?: Normalisation) => tf.LayersModel,
): ModelEntry & { family: 'vit' } => ({
  summary,
  family: 'vit',
  source,
  input: 'image',
  options: patchOption,
  identity: (o) => ({ patch: o.patch ?? VIT_PATCH, ...(o.normalisation ? { normalisation: o.normalisation } : {}) }),
  build: (i, o) => build(i, o.patch ?? VIT_PATCH, o.normalisation),
});

export const MODELS = {
  mlp: {
    summary: 'multi-layer perceptron, ReLU (the toy example: 3 → 64 → 2)',
    family: 'mlp',
    source: 'the paper, Sec. III-A',
    input: 'vector',
    options: { hidden: s.opt(s.arr(s.int({ min: 1 }), { default: MLP_HIDDEN, description: 'hidden layer widths' })) },
    identity: (o) => ({ hidden: o.hidden ?? MLP_HIDDEN }),
    // the image shape too: mlp() flattens it inside the model
    build: (i, o) =>
      mlp({
        inputDim: i.inputShape.reduce((a, b) => a * b, 1),
        inputShape: i.inputShape,
        numClasses: i.numClasses,
        hidden: o.hidden ?? MLP_HIDDEN,
        seed: i.seed,
      }),
  },
  // widths are a code option (the experiments' small profiles); run configs keep the default
  'small-cnn': conv(
    'three 3×3 conv + BN + ReLU layers (strides 1, 2, 2), global average pooling',
    "this project: the small profiles' model",
    (i, o) => smallCnn({ numClasses: i.numClasses, inputShape: image(i), widths: o.widths, seed: i.seed }),
  ),
  'cnn-fc': {
    family: 'conv',
    summary:
      "TRADES' MNIST SmallCNN: 3×3 convs 32, 32, max-pool, 64, 64, max-pool (each + BN + ReLU), FC 200 → 200 → classes (the width is fcWidth), no dropout",
    source: 'Zhang et al. 2019 (TRADES code), batch norm added',
    input: 'image',
    options: { fcWidth: s.opt(s.int({ min: 1, default: CNN_FC_HIDDEN, description: 'width of the two fully connected hidden layers' })) },
    // the default leaves the identity empty, as before the option existed, so earlier run folders still match
    identity: (o) => (o.fcWidth === undefined || o.fcWidth === CNN_FC_HIDDEN ? {} : { fcWidth: o.fcWidth }),
    build: (i, o) => cnnFc({ numClasses: i.numClasses, inputShape: image(i), seed: i.seed, hidden: o.fcWidth }),
  },
  resnet18: conv('ResNet-18, CIFAR variant (3×3 stem, no max-pool), 11,173,962 parameters', 'He et al. 2016', (i) =>
    resnet18({ numClasses: i.numClasses, inputShape: image(i), seed: i.seed }),
  ),
  'preact-resnet18': conv('PreAct ResNet-18, 11,172,170 parameters', 'He et al. 2016b', (i) =>
    preActResnet18({ numClasses: i.numClasses, inputShape: image(i), seed: i.seed }),
  ),
  'wrn34-10': conv("WideResNet-34-10 (the paper's WRN-32-10), 46,160,474 parameters", 'Zagoruyko & Komodakis 2016, TRADES/MART code', (i) =>
    wrn34_10({ numClasses: i.numClasses, inputShape: image(i), seed: i.seed }),
  ),
  'vit-tiny': vitEntry("a 2-block ViT (dim 32, 2 heads): the small profiles' stand-in for Table IV's ViTs", 'this project', (i, patch) =>
    vit({ numClasses: i.numClasses, inputShape: image(i), seed: i.seed, patch, dim: 32, depth: 2, heads: 2, name: 'vit_tiny' }),
  ),
  'deit-s': vitEntry('DeiT-S: dim 384, 12 blocks, 6 heads', 'Touvron et al. 2021', (i, patch, normalisation) =>
    deitSmall({ numClasses: i.numClasses, inputShape: image(i), seed: i.seed, patch, normalisation }),
  ),
  'vit-b': vitEntry('ViT-B: dim 768, 12 blocks, 12 heads', 'Dosovitskiy et al. 2021', (i, patch, normalisation) =>
    vitBase({ numClasses: i.numClasses, inputShape: image(i), seed: i.seed, patch, normalisation }),
  ),
  'convit-b': vitEntry(
    'ConViT-B: ViT-B width, 16 heads, 10 gated positional self-attention blocks',
    "d'Ascoli et al. 2021",
    (i, patch, normalisation) => convitBase({ numClasses: i.numClasses, inputShape: image(i), seed: i.seed, patch, normalisation }),
  ),
} satisfies Record<string, ModelEntry>;

export type Arch = keyof typeof MODELS;
export const ARCHS = Object.keys(MODELS) as Arch[];

/** The architectures of some families, as a type: ArchOf<'vit'> is 'vit-tiny' | 'deit-s' | 'vit-b' | 'convit-b'. */
export type ArchOf<F extends ArchFamily> = { [A in Arch]: (typeof MODELS)[A]['family'] extends F ? A : never }[Arch];

/** Whether a name is an architecture of the family. */
export function isArchOf<F extends ArchFamily>(family: F, arch: string | undefined): arch is ArchOf<F> {
  return arch !== undefined && (MODELS as Record<string, ModelEntry>)[arch]?.family === family;
}

/** The entry of an architecture; an unknown name is an error that lists them. */
export function modelEntry(arch: string): ModelEntry {
  const e = (MODELS as Record<string, ModelEntry>)[arch];
  if (!e) throw new PiatError('unknown-option', `Unknown architecture '${arch}'. Expected one of: ${ARCHS.join(', ')}.`);
  return e;
}

/** Builds an architecture for the data's input shape and classes; an image network on vector data is refused. */
export function buildModel(arch: string, input: ModelInput, options: ModelOptions = {}): tf.LayersModel {
  const e = modelEntry(arch);
  if (e.input === 'image' && input.inputShape.length !== 3) {
    throw new PiatError(
      'bad-config',
      `${arch} needs image inputs [height, width, channels]; the data's examples have shape [${input.inputShape}]`,
    );
  }
  return e.build(input, options);
}
