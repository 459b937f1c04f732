/**
 * The `torch` tfjs backend: every tensor's data is an ATen tensor in the addon's table (one handle
 * per tfjs data id), and kernels are calls into native code by tfjs kernel name (kernels.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { PiatError } from '../../util/errors';
import { SgdHyper, TorchNative } from './native';
import { runOnCpu } from './fallback';
import { installDeviceRandom, RANDOM_KERNEL } from './device-random';
import { installFusedAttack, LINF_STEP_KERNEL } from './fused-attack';
import { installFusedLoss } from './fused-loss';
import { installFusedModel } from './fused-model';

type Info = tf.TensorInfo;
const DTYPES: tf.DataType[] = ['float32', 'int32', 'bool'];

interface Entry {
  handle: number;
  refCount: number;
}

function dtypeCode(dtype: tf.DataType): number {
  const c = DTYPES.indexOf(dtype);
  if (c < 0)
    throw new PiatError('unsupported-dtype', `torch backend: tensors of dtype ${dtype} are not supported (float32, int32 and bool are)`);
  return c;
}

/**
 * A backend that updates every parameter of an SGD step in one call (the torch backend). `foreachSgd`
 * false makes src/train/sgd.ts take its per-parameter tfjs path (the reference) on it too.
 */
export interface ForeachSgdBackend {
  foreachSgd: boolean;
  sgdStep(params: tf.Variable[], grads: tf.Tensor[], velocity: tf.Variable[] | null, decay: boolean[], hyper: SgdHyper): boolean;
}

export class TorchBackend extends tf.KernelBackend implements ForeachSgdBackend {
  private readonly data = new tf.DataStorage<Entry>(this, tf.engine());

  /** Native kernel calls by name in this process (the kernel test checks it reached every kernel). */
  readonly calls = new Map<string, number>();
  /** Milliseconds spent inside native kernel calls, when `profile` is on (the bench's breakdown). */
  nativeMs = 0;
  profile = false;

  /** Whether SGD updates all parameters in one native call (sgdStep); false: one tfjs op at a time. */
  foreachSgd = true;

  constructor(readonly native: TorchNative) {
    super();
    installFusedModel(this); // the whole-model kernel behind PIAT_FUSED_MODEL=1 (fused-model.ts)
    installFusedLoss(); // and its cross entropy as one kernel (fused-loss.ts)
    // an addon built before these kernels keeps the composites (setup rebuilds it; this only avoids a crash)
    const has = new Set(native.kernels());
    if (has.has(RANDOM_KERNEL)) installDeviceRandom(); // and its random starts drawn on the device (device-random.ts)
    if (has.has(LINF_STEP_KERNEL) && typeof native.modelInputGrad === 'function') installFusedAttack(); // and the attacks' inner step as two native calls (fused-attack.ts)
  }

  /** Tensors the addon returned outside `run` (encoded as `run` returns them) as this backend's tensor infos. */
  adopt(flat: number[]): Info[] {
    return this.decode(flat);
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): object {
    const dataId = {};
    this.data.set(dataId, { handle: this.native.write(values as ArrayBufferView, shape, dtypeCode(dtype)), refCount: 1 });
    return dataId;
  }

  override move(dataId: object, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    this.data.set(dataId, { handle: this.native.write(values as ArrayBufferView, shape, dtypeCode(dtype)), refCount });
  }

  handle(dataId: object): number {
    const e = this.data.get(dataId);
    if (!e) throw new PiatError('torch-disposed', 'torch backend: a tensor was used after it was disposed');
    return e.handle;
  }

  override readSync(dataId: object): tf.backend_util.BackendValues {
    return this.native.read(this.handle(dataId));
  }

  override async read(dataId: object): Promise<tf.backend_util.BackendValues> {
    return this.readSync(dataId);
  }

  override disposeData(dataId: object, force = false): boolean {
    const e = this.data.get(dataId);
    if (!e) return true;
    e.refCount--;
    if (!force && e.refCount > 0) return false;
    this.native.dispose(e.handle);
    this.data.delete(dataId);
    return true;
  }

  override refCount(dataId: object): number {
    return this.data.get(dataId)?.refCount ?? 0;
  }

  override incRef(dataId: object): void {
    const e = this.data.get(dataId);
    if (e) e.refCount++;
  }

  /** `x` itself as a kernel's output, one more reference to its data (kernels.ts `shares`). */
  share(x: tf.TensorInfo): tf.TensorInfo {
    this.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  override memory(): { unreliable: boolean; nativeBytes: number; nativeTensors: number } {
    const m = this.native.memory();
    return { unreliable: false, nativeBytes: m.bytes, nativeTensors: m.tensors };
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override timerAvailable(): boolean {
    return true;
  }

  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    const t0 = performance.now();
    f();
    this.native.sync();
    return { kernelMs: performance.now() - t0 };
  }

  override dispose(): void {
    // tensors are freed one by one through disposeData; nothing is pooled
  }

  /** Runs a native kernel; a case the addon reports unsupported runs on the cpu fallback. */
  run(name: string, inputs: Info[], attrs: object | null, original: { inputs: Info[] | Record<string, Info>; attrs: unknown }): Info[] {
    let flat: number[];
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
    try {
      const handles = inputs.map((i) => this.handle(i.dataId));
      if (this.profile) {
        const t0 = performance.now();
        flat = this.native.run(name, handles, attrs);
        this.nativeMs += performance.now() - t0;
      } else {
        flat = this.native.run(name, handles, attrs);
      }
    } catch (e) {
      if ((e as { code?: string }).code === 'PIAT_TORCH_UNSUPPORTED') {
        const out = runOnCpu(name, (e as Error).message, this, original.inputs, original.attrs);
        return Array.isArray(out) ? out : [out];
      }
      throw e;
    }
    return this.decode(flat);
  }

  /**
   * One SGD update of `params` (with their `velocity`, null without momentum) in one native call,
   * as PyTorch's foreach SGD. Each variable keeps its data id and its handle, whose tensor is
   * replaced by the updated one, so tfjs's bookkeeping (tensor counts, bytes) does not change and
   * nothing is allocated in tfjs. A variable whose data id another tensor shares (it was assigned a
   * tensor still alive) first gets one of its own, so no other tensor changes with it. Returns
   * false, having changed nothing, when a tensor is not this backend's (the caller then runs the
   * per-parameter path).
   */
  sgdStep(params: tf.Variable[], grads: tf.Tensor[], velocity: tf.Variable[] | null, decay: boolean[], hyper: SgdHyper): boolean {
    const n = params.length;
    const updated = velocity ? [...params, ...velocity] : params;
    if (![...updated, ...grads].every((t) => this.data.has(t.dataId))) return false;
    for (const v of updated) {
      if (this.refCount(v.dataId) > 1) {
        // a new handle (native Identity: same storage, own slot), not tf.clone, which only shares the data id
        const [info] = this.run('Identity', [v], null, { inputs: [v], attrs: {} });
        const own = tf.engine().makeTensorFromDataId(info.dataId, info.shape, info.dtype, this);
        v.assign(own);
        own.dispose();
      }
    }
    const handles = new Uint32Array(velocity ? 3 * n : 2 * n);
    for (let i = 0; i < n; i++) {
      handles[i] = this.handle(params[i].dataId);
      handles[n + i] = this.handle(grads[i].dataId);
      if (velocity) handles[2 * n + i] = this.handle(velocity[i].dataId);
    }
    const flags = Uint8Array.from(decay, (d) => (d ? 1 : 0));
    this.calls.set('sgdStep', (this.calls.get('sgdStep') ?? 0) + 1);
    if (this.profile) {
      const t0 = performance.now();
      this.native.sgdStep(handles, flags, hyper);
      this.nativeMs += performance.now() - t0;
    } else {
      this.native.sgdStep(handles, flags, hyper);
    }
    return true;
  }

  private decode(flat: number[]): Info[] {
    const n = flat[0];
    const out: Info[] = [];
    let p = 1;
    for (let k = 0; k < n; k++) {
      const handle = flat[p++];
      const dtype = DTYPES[flat[p++]];
      const rank = flat[p++];
      const shape = flat.slice(p, p + rank);
      p += rank;
      const dataId = {};
      this.data.set(dataId, { handle, refCount: 1 });
      out.push({ dataId, shape, dtype });
    }
    return out;
  }
}
