/**
 * ImageNet-pretrained ViT weights, as timm publishes them, for fine-tuning (Table IV of the PIAT
 * paper fine-tunes ViT-B, DeiT-S and ConViT-B pre-trained on ImageNet-1K). Nothing is downloaded
 * at run time: the user places timm's file at <dir>/<arch>.safetensors (or .pth / .bin), where
 * <dir> is PIAT_PRETRAINED, else datasets/pretrained/ of the project.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PiatError } from '../../util/errors';
import { Normalisation } from '../layers';

const IMAGENET: Normalisation = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const HALF: Normalisation = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

export interface PretrainedSource {
  /** timm's model name: huggingface.co/timm/<name> holds model.safetensors */
  timm: string;
  /** the input normalisation the weights were trained with (timm's pretrained_cfg mean/std), applied inside the model */
  normalisation: Normalisation;
}

/** The ImageNet-1K-trained timm weights of the paper's ViTs. */
export const PRETRAINED: Record<string, PretrainedSource> = {
  'vit-b': { timm: 'vit_base_patch16_224.augreg_in1k', normalisation: HALF },
  'deit-s': { timm: 'deit_small_patch16_224.fb_in1k', normalisation: IMAGENET },
  'convit-b': { timm: 'convit_base.fb_in1k', normalisation: IMAGENET },
};

const EXTENSIONS = ['.safetensors', '.pth', '.pt', '.bin'];

/** Where pretrained files are looked for: PIAT_PRETRAINED, else `<projectRoot>/datasets/pretrained`. */
export function pretrainedDir(projectRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.PIAT_PRETRAINED ?? path.join(projectRoot, 'datasets', 'pretrained');
}

/** How to get an architecture's file, for messages and docs. */
export function pretrainedHowTo(arch: string, dir: string): string {
  const src = PRETRAINED[arch];
  const file = path.join(dir, `${arch}.safetensors`);
  return src
    ? `On a machine with network access: huggingface-cli download timm/${src.timm} model.safetensors --local-dir . (or https://huggingface.co/timm/${src.timm}), then copy model.safetensors to ${file}.`
    : `Place a PyTorch state_dict (timm names) of ${arch} at ${file}.`;
}

/** The pretrained file of `arch` in `dir`; a missing one is an error naming the file, the folder and how to get it. */
export function findPretrained(arch: string, dir: string): string {
  const found = EXTENSIONS.map((e) => path.join(dir, `${arch}${e}`)).find((f) => fs.existsSync(f));
  if (found) return found;
  throw new PiatError(
    'missing-pretrained',
    `No pretrained ${arch} weights: looked for ${arch}{${EXTENSIONS.join(',')}} in ${dir} (set PIAT_PRETRAINED to look elsewhere). ` +
      pretrainedHowTo(arch, dir),
  );
}
