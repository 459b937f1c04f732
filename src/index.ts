/**
 * piat-ts, the library: adversarial attacks, training objectives, PIAT and weight averaging, a
 * seeded and resumable trainer, and robustness evaluation, on tfjs. The paper's experiments and the
 * notebooks' helpers are the second entry point, `piat-ts/experiments` (src/experiments/index.ts).
 * How to add an attack, an objective or a model: docs/contributing.md.
 */
export * as tf from '@tensorflow/tfjs';

// ---- Backend: torch (libtorch), tensorflow, wasm or cpu ----
export * from './backend';

// ---- Threat models shared by attacks, objectives and evaluation ----
export * from './settings';

// ---- Data: datasets in [0, 1], batching, readers of the official formats, the toy data ----
export * from './data/dataset';
export * from './data/images';
export * from './data/idx';
export * from './data/mat5';
export * from './data/fetch';
export * from './data/toy';

// ---- Models: the registry of architectures, and each architecture ----
export * from './models/registry';
export * from './models/mlp';
export * from './models/resnet';
export * from './models/vit';
export * from './models/layers';
export * from './models/forward';
export * from './models/flops';
export * from './models/pytorch';

// ---- Attacks: the contract, the registry of named attacks, and each attack ----
export * from './attacks';

// ---- Objectives: the registry, and each training objective ----
export * from './objectives';

// ---- PIAT (parameter interpolation) and, to compare with it, weight averaging ----
export * from './piat';
export * from './averaging';

// ---- Training: the trainer, its hooks, SGD, LR schedules, checkpoints, run folders ----
export * from './train/trainer';
export * from './train/step';
export * from './train/hooks';
export * from './train/sgd';
export * from './train/lr';
export * from './train/records';
export * from './train/model-io';
export * from './train/checkpoint';
export * from './train/run-lock';
export { runIdentity, identityDiff, type Identity } from './train/identity';
export { stopOnSigint } from './train/interrupt';

// ---- Run configs: one training run as checked JSON (piat train / sweep) ----
export * from './train/run-config';
export { runConfigSchema, runConfigJsonSchema } from './train/run-config-schema';

// ---- Evaluation: accuracy, the evaluation protocol, per-image results, checks on a model before it is evaluated ----
export * from './eval/accuracy';
export * from './eval/evaluate';
export * from './eval/per-image';
export * from './eval/checks';

// ---- Analysis and plots: decision boundaries, oscillation, loss landscapes; Vega-Lite charts, notebook display ----
export * from './analysis';
export * from './plots';

// ---- Utilities ----
export * from './util/errors';
export * from './util/rng';
export * from './util/progress';
