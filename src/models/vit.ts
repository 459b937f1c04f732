/**
 * Vision transformers for 32×32 inputs (and any size): ViT (Dosovitskiy et al. 2021), DeiT-S
 * (Touvron et al. 2021: ViT with dim 384, depth 12, 6 heads) and ConViT (d'Ascoli et al. 2021:
 * the first `localLayers` blocks use gated positional self-attention, GPSA, and the class token
 * joins after them). Trained from scratch by default; `loadWeightsInto` takes a local weight file
 * in this model's tfjs format when a user has converted pretrained weights.
 *
 * Attention, tokens and GELU are custom layer classes registered with tfjs's serialisation, so
 * piat-ts loads saved ViTs itself; another tfjs runtime needs these classes registered too.
 */
import * as tf from '@tensorflow/tfjs';
import { Normalisation, normalise } from './layers';

type T = tf.SymbolicTensor;

/** A learnable [1, tokens, dim] position embedding added to the tokens. */
export class PositionEmbedding extends tf.layers.Layer {
  static className = 'PiatPositionEmbedding';
  private pos!: tf.LayerVariable;
  constructor(private readonly cfg: { seed?: number } & tf.serialization.ConfigDict = {}) {
    super(cfg as never);
  }
  override build(shape: tf.Shape | tf.Shape[]): void {
    const s = shape as number[];
    this.pos = this.addWeight(
      'pos',
      [1, s[1], s[2]],
      'float32',
      tf.initializers.truncatedNormal({ stddev: 0.02, seed: this.cfg.seed as number | undefined }),
    );
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.add(Array.isArray(inputs) ? inputs[0] : inputs, this.pos.read());
  }
  override getConfig() {
    return { ...super.getConfig(), seed: this.cfg.seed ?? null };
  }
}

/** Prepends a learnable class token: [n, t, d] → [n, t + 1, d]. */
export class ClassToken extends tf.layers.Layer {
  static className = 'PiatClassToken';
  private cls!: tf.LayerVariable;
  constructor(cfg: tf.serialization.ConfigDict = {}) {
    super(cfg as never);
  }
  override build(shape: tf.Shape | tf.Shape[]): void {
    this.cls = this.addWeight('cls', [1, 1, (shape as number[])[2]], 'float32', tf.initializers.zeros());
    this.built = true;
  }
  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = shape as number[];
    return [s[0], s[1] === null ? null : s[1] + 1, s[2]] as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.concat([tf.tile(this.cls.read(), [x.shape[0], 1, 1]), x], 1);
  }
}

/** The first token of each sequence: [n, t, d] → [n, d]. */
export class TakeFirstToken extends tf.layers.Layer {
  static className = 'PiatTakeFirstToken';
  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = shape as number[];
    return [s[0], s[2]];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.reshape(tf.slice(x, [0, 0, 0], [-1, 1, -1]), [x.shape[0], x.shape[2] as number]);
  }
}

/** GELU with the exact erf form (as timm / PyTorch's nn.GELU). */
export class Gelu extends tf.layers.Layer {
  static className = 'PiatGelu';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))));
  }
}

export interface AttentionConfig {
  heads: number;
  /** gated positional self-attention (ConViT); needs a square grid of tokens, no class token */
  gated?: boolean;
  /** GPSA's locality strength at initialisation (ConViT: 1) */
  localityStrength?: number;
  seed?: number;
}

/**
 * Multi-head self-attention with qkv and output projections (with biases). In GPSA mode each
 * head mixes content attention with a positional attention softmax(v_pos·r_ij), r_ij =
 * (Δx, Δy, Δx² + Δy²), through a learned gate σ(λ_h): (1 − σ)·A_content + σ·A_pos.
 */
export class MultiHeadSelfAttention extends tf.layers.Layer {
  static className = 'PiatMultiHeadSelfAttention';
  private qkv!: tf.LayerVariable;
  private qkvBias!: tf.LayerVariable;
  private proj!: tf.LayerVariable;
  private projBias!: tf.LayerVariable;
  private posProj?: tf.LayerVariable;
  private gate?: tf.LayerVariable;
  private rel?: tf.Tensor;
  constructor(private readonly ac: AttentionConfig & tf.serialization.ConfigDict) {
    super(ac as never);
  }
  override build(shape: tf.Shape | tf.Shape[]): void {
    const [, tokens, d] = shape as number[];
    const h = this.ac.heads;
    if (d % h !== 0) throw new Error(`attention dim ${d} is not divisible by ${h} heads`);
    const init = (s: number) => tf.initializers.truncatedNormal({ stddev: 0.02, seed: (this.ac.seed ?? 0) + s });
    this.qkv = this.addWeight('qkv_kernel', [d, 3 * d], 'float32', init(1));
    this.qkvBias = this.addWeight('qkv_bias', [3 * d], 'float32', tf.initializers.zeros());
    this.proj = this.addWeight('proj_kernel', [d, d], 'float32', init(2));
    this.projBias = this.addWeight('proj_bias', [d], 'float32', tf.initializers.zeros());
    if (this.ac.gated) {
      const side = Math.round(Math.sqrt(tokens));
      if (side * side !== tokens) throw new Error(`GPSA needs a square grid of tokens, got ${tokens}`);
      // ConViT's local init: head h attends around offset (dx, dy) from a small grid of offsets
      const strength = this.ac.localityStrength ?? 1;
      const k = Math.ceil(Math.sqrt(h));
      const v = new Float32Array(h * 3);
      for (let i = 0; i < h; i++) {
        const dx = (i % k) - Math.floor(k / 2);
        const dy = Math.floor(i / k) - Math.floor(k / 2);
        v.set([2 * dx * strength, 2 * dy * strength, -strength], 3 * i);
      }
      this.posProj = this.addWeight('pos_proj', [h, 3], 'float32', tf.initializers.zeros());
      this.posProj.write(tf.tensor2d(v, [h, 3]));
      this.gate = this.addWeight('gating', [h], 'float32', tf.initializers.ones());
      const rel = new Float32Array(tokens * tokens * 3);
      for (let a = 0; a < tokens; a++)
        for (let b = 0; b < tokens; b++) {
          const dx = (b % side) - (a % side);
          const dy = Math.floor(b / side) - Math.floor(a / side);
          rel.set([dx, dy, dx * dx + dy * dy], (a * tokens + b) * 3);
        }
      this.rel = tf.keep(tf.tensor3d(rel, [tokens, tokens, 3]));
    }
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
    const [n, t, d] = x.shape;
    const h = this.ac.heads;
    const hd = d / h;
    return tf.tidy(() => {
      const qkv = tf.add(tf.matMul(tf.reshape(x, [n * t, d]), this.qkv.read() as tf.Tensor2D), this.qkvBias.read());
      const heads = tf.transpose(tf.reshape(qkv, [n, t, 3, h, hd]), [2, 0, 3, 1, 4]); // [3, n, h, t, hd]
      const [q, k, v] = tf.unstack(heads) as tf.Tensor4D[];
      let attn: tf.Tensor = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)));
      if (this.ac.gated && this.rel && this.posProj && this.gate) {
        // positional scores [h, t, t] = Σ_c v_pos[h, c]·r[t, t, c]
        const pos = tf.softmax(
          tf
            .reshape(tf.matMul(tf.reshape(this.rel, [t * t, 3]), this.posProj.read() as tf.Tensor2D, false, true), [t, t, h])
            .transpose([2, 0, 1]),
        );
        const g = tf.reshape(tf.sigmoid(this.gate.read()), [1, h, 1, 1]);
        attn = tf.add(tf.mul(tf.sub(1, g), attn), tf.mul(g, tf.expandDims(pos, 0)));
        attn = tf.div(attn, tf.sum(attn, -1, true));
      }
      const out = tf.reshape(tf.transpose(tf.matMul(attn as tf.Tensor4D, v), [0, 2, 1, 3]), [n * t, d]);
      return tf.reshape(tf.add(tf.matMul(out, this.proj.read() as tf.Tensor2D), this.projBias.read()), [n, t, d]);
    });
  }
  override getConfig() {
    return {
      ...super.getConfig(),
      heads: this.ac.heads,
      gated: this.ac.gated ?? false,
      localityStrength: this.ac.localityStrength ?? 1,
      seed: this.ac.seed ?? 0,
    };
  }
  override dispose() {
    this.rel?.dispose();
    return super.dispose();
  }
}

/**
 * A&P's attention random dropping (ARD, Mo et al. NeurIPS 2022): while an attack runs inside
 * `withGradientDropping`, each residual branch (attention and MLP) of every block passes its
 * gradient back only with probability `keep`, drawn afresh at every forward pass (the authors'
 * backward hook on the block's drop_path); otherwise the gradient reaches the input through the skip
 * connection alone. Outside it the gate is the identity, forward and backward.
 */
const GRADIENT_DROPPING: { keep: number | null; draw: (() => number) | null } = { keep: null, draw: null };

export function withGradientDropping<R>(keep: number, draw: () => number, fn: () => R): R {
  const prev = { ...GRADIENT_DROPPING };
  GRADIENT_DROPPING.keep = keep;
  GRADIENT_DROPPING.draw = draw;
  try {
    return fn();
  } finally {
    Object.assign(GRADIENT_DROPPING, prev);
  }
}

/** The gradient dropping in force (keep null: off); the fused model draws its gates from it (src/backend/torch/fused-model.ts). */
export function gradientDropping(): { keep: number | null; draw: (() => number) | null } {
  return { ...GRADIENT_DROPPING };
}

export class GradientGate extends tf.layers.Layer {
  static readonly className = 'GradientGate';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const { keep, draw } = GRADIENT_DROPPING;
    if (keep === null || !draw || draw() < keep) return x;
    // identity forward, no gradient back through this branch
    return tf.customGrad(((t: tf.Tensor) => ({ value: tf.clone(t), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as never)(
      x,
    ) as tf.Tensor;
  }
}

for (const cls of [PositionEmbedding, ClassToken, TakeFirstToken, Gelu, MultiHeadSelfAttention, GradientGate])
  tf.serialization.registerClass(cls as never);

export interface VitOptions {
  numClasses: number;
  inputShape?: [number, number, number];
  patch?: number;
  dim: number;
  depth: number;
  heads: number;
  mlpRatio?: number;
  /** ConViT: the first `localLayers` blocks use GPSA (default 0: plain ViT) */
  localLayers?: number;
  normalisation?: Normalisation;
  seed: number;
  name?: string;
}

export function vit(o: VitOptions): tf.LayersModel {
  const shape = o.inputShape ?? [32, 32, 3];
  const patch = o.patch ?? 4;
  const side = Math.floor(shape[0] / patch);
  const tokens = side * Math.floor(shape[1] / patch);
  const input = tf.input({ shape });
  let seed = o.seed;
  const next = () => seed++;
  let x: T = input;
  let init: ((m: tf.LayersModel) => void) | null = null;
  if (o.normalisation) {
    const n = normalise(input, shape[2], o.normalisation);
    x = n.out;
    init = n.init;
  }
  x = tf.layers
    .conv2d({
      filters: o.dim,
      kernelSize: patch,
      strides: patch,
      padding: 'valid',
      name: 'patch_embed',
      kernelInitializer: tf.initializers.glorotUniform({ seed: next() }),
    })
    .apply(x) as T;
  x = tf.layers.reshape({ targetShape: [tokens, o.dim], name: 'tokens' }).apply(x) as T;
  const local = o.localLayers ?? 0;
  if (local === 0) x = new ClassToken({ name: 'cls_token' }).apply(x) as T;
  x = new PositionEmbedding({ name: 'pos_embed', seed: next() }).apply(x) as T;
  const ln = (t: T, name: string) => tf.layers.layerNormalization({ epsilon: 1e-6, name }).apply(t) as T;
  const dense = (t: T, units: number, name: string) =>
    tf.layers.dense({ units, name, kernelInitializer: tf.initializers.truncatedNormal({ stddev: 0.02, seed: next() }) }).apply(t) as T;
  for (let b = 0; b < o.depth; b++) {
    if (local > 0 && b === local) x = new ClassToken({ name: 'cls_token' }).apply(x) as T;
    const p = `block${b}`;
    let a = new MultiHeadSelfAttention({ heads: o.heads, gated: b < local, seed: next(), name: `${p}.attn` }).apply(
      ln(x, `${p}.norm1`),
    ) as T;
    a = new GradientGate({ name: `${p}.gate1` }).apply(a) as T;
    x = tf.layers.add({ name: `${p}.add1` }).apply([x, a]) as T;
    let m = dense(ln(x, `${p}.norm2`), Math.round(o.dim * (o.mlpRatio ?? 4)), `${p}.fc1`);
    m = new Gelu({ name: `${p}.gelu` }).apply(m) as T;
    m = dense(m, o.dim, `${p}.fc2`);
    m = new GradientGate({ name: `${p}.gate2` }).apply(m) as T;
    x = tf.layers.add({ name: `${p}.add2` }).apply([x, m]) as T;
  }
  x = ln(x, 'norm');
  x = new TakeFirstToken({ name: 'cls' }).apply(x) as T;
  const logitsOut = dense(x, o.numClasses, 'head');
  const model = tf.model({ inputs: input, outputs: logitsOut, name: o.name ?? 'vit' });
  init?.(model);
  return model;
}

/** DeiT-S: dim 384, depth 12, 6 heads (22,050,664 parameters at 224×224 / patch 16 / 1000 classes). */
export const deitSmall = (o: Omit<VitOptions, 'dim' | 'depth' | 'heads'>) => vit({ ...o, dim: 384, depth: 12, heads: 6, name: 'deit_s' });
/** ViT-B: dim 768, depth 12, 12 heads. */
export const vitBase = (o: Omit<VitOptions, 'dim' | 'depth' | 'heads'>) => vit({ ...o, dim: 768, depth: 12, heads: 12, name: 'vit_b' });
/** ConViT-B: ViT-B width (768, 16 heads as in the paper's base model) with 10 GPSA layers. */
export const convitBase = (o: Omit<VitOptions, 'dim' | 'depth' | 'heads' | 'localLayers'>) =>
  vit({ ...o, dim: 768, depth: 12, heads: 16, localLayers: 10, name: 'convit_b' });
