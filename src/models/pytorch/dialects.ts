/**
 * How the PyTorch code that trained a checkpoint names the layers of each registered architecture
 * (a "dialect"): our layer names follow PyTorch's module paths where they can, so a dialect is a
 * small rename of a layer's name plus the keys it never loads. The first dialect of an
 * architecture is the one `saveTorchStateDict` writes.
 */

export interface Dialect {
  name: string;
  /** where the naming comes from (for messages and docs) */
  source: string;
  /** our layer name → the PyTorch module path */
  layer: (name: string) => string;
  /** keys of such checkpoints that hold nothing of ours (unused modules, buffers) */
  ignore?: RegExp;
  /** tensors the PyTorch module has besides ours, written on export so that a strict load_state_dict accepts the file */
  exportExtra?: (sd: Map<string, unknown>) => [string, unknown][];
  /** timm ViTs: the attention's qkv has no bias (ConViT), and patch/position embeddings may be resampled */
  timm?: { qkvBias: boolean };
}

const same = (n: string) => n;
/** timm's ViT module paths: block3.attn → blocks.3.attn, block3.fc1 → blocks.3.mlp.fc1, patch_embed → patch_embed.proj. */
const timmLayer = (n: string) =>
  n === 'patch_embed' ? 'patch_embed.proj' : n.replace(/^block(\d+)\.(fc[12])$/, 'blocks.$1.mlp.$2').replace(/^block(\d+)\./, 'blocks.$1.');

const PIAT: Dialect = { name: 'piat', source: "piat-ts's own layer names (what saveTorchStateDict writes for these models)", layer: same };

/** Architecture → its dialects, most common first. */
export const DIALECTS: Record<string, Dialect[]> = {
  resnet18: [
    {
      name: 'pytorch-cifar',
      source: 'kuangliu/pytorch-cifar ResNet18, as the adversarial-training code and RobustBench use it (shortcut.0/1, linear)',
      layer: (n) =>
        n
          .replace(/\.shortcut\.conv$/, '.shortcut.0')
          .replace(/\.shortcut\.bn$/, '.shortcut.1')
          .replace(/^fc$/, 'linear'),
    },
    {
      name: 'torchvision',
      source: 'torchvision-style names (downsample.0/1, fc) on the CIFAR stem',
      layer: (n) => n.replace(/\.shortcut\.conv$/, '.downsample.0').replace(/\.shortcut\.bn$/, '.downsample.1'),
    },
    PIAT,
  ],
  'preact-resnet18': [
    {
      name: 'pytorch-cifar',
      source: 'PreActResNet18 of Rice et al. (robust overfitting) and pytorch-cifar (shortcut.0, bn, linear)',
      layer: (n) =>
        n
          .replace(/\.shortcut$/, '.shortcut.0')
          .replace(/^bn_final$/, 'bn')
          .replace(/^fc$/, 'linear'),
    },
    PIAT,
  ],
  'wrn34-10': [
    {
      name: 'trades',
      source: 'WideResNet of the TRADES and MART code and RobustBench (blockG.layer.B, convShortcut, bn1, fc)',
      layer: (n) =>
        n
          .replace(/^block(\d)\.(\d+)\.shortcut$/, 'block$1.layer.$2.convShortcut')
          .replace(/^block(\d)\.(\d+)\./, 'block$1.layer.$2.')
          .replace(/^bn_final$/, 'bn1'),
      // TRADES' WideResNet builds a sub_block1 it never calls; its weights are in every state_dict
      ignore: /^sub_block1\./,
      // its forward never reads sub_block1, so a copy of block1 (same shapes) is as good as any value
      exportExtra: (sd) => [...sd].filter(([k]) => k.startsWith('block1.')).map(([k, v]) => [`sub_${k}`, v]),
    },
    PIAT,
  ],
  'vit-b': [{ name: 'timm', source: 'timm VisionTransformer (vit_base_patch16_224)', layer: timmLayer, timm: { qkvBias: true } }, PIAT],
  'deit-s': [{ name: 'timm', source: 'timm VisionTransformer (deit_small_patch16_224)', layer: timmLayer, timm: { qkvBias: true } }, PIAT],
  'vit-tiny': [{ name: 'timm', source: 'timm VisionTransformer names', layer: timmLayer, timm: { qkvBias: true } }, PIAT],
  'convit-b': [{ name: 'timm', source: 'timm ConViT (convit_base; qkv without bias)', layer: timmLayer, timm: { qkvBias: false } }, PIAT],
  'cnn-fc': [PIAT],
  'small-cnn': [PIAT],
  mlp: [PIAT],
};

/** The registered architecture a built model is, from the name its builder gives it. */
export const ARCH_OF_MODEL_NAME: Record<string, string> = {
  resnet18: 'resnet18',
  preact_resnet18: 'preact-resnet18',
  wrn_34_10: 'wrn34-10',
  vit_b: 'vit-b',
  deit_s: 'deit-s',
  vit_tiny: 'vit-tiny',
  convit_b: 'convit-b',
  cnn_fc: 'cnn-fc',
  small_cnn: 'small-cnn',
  mlp: 'mlp',
};
