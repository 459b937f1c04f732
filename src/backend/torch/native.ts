/**
 * Loads the torch backend's Node-API addon (native/torch, built by scripts/build-native.sh against
 * libtorch). `PIAT_TORCH_ADDON` points at another build (e.g. one linked to a CUDA libtorch).
 */
import * as fs from 'fs';
import * as path from 'path';
import { PiatError } from '../../util/errors';
import { PACKAGE_ROOT } from '../../util/paths';

/** The addon's functions (native/torch/addon.cc). Handles index its table of ATen tensors. */
export interface TorchNative {
  write(values: ArrayBufferView, shape: number[], dtype: number): number;
  read(handle: number): Float32Array | Int32Array | Uint8Array;
  dispose(handle: number): void;
  /** Runs the kernel registered under a tfjs kernel name; returns [n, handle, dtype, rank, dims..., ...]. */
  run(kernel: string, handles: number[], attrs: object | null): number[];
  kernels(): string[];
  memory(): { bytes: number; tensors: number; slots: number };
  setThreads(n: number): number;
  threads(): number;
  setDevice(device: string): void;
  /** Where convolutions keep activations: 'auto' | 'auto:<channels>' | 'nchw' | 'nhwc' (see native/torch/common.h); returns the one in force. */
  setConvLayout(layout: string): string;
  /** glibc's handling of freed memory: 'keep' (reuse it, warm) or 'release' (glibc's default); returns the one in force ('system' off glibc). */
  setMalloc(policy: string): string;
  info(): {
    libtorch: string;
    device: string;
    cuda: boolean;
    parallel: string;
    threads: number;
    convLayout: string;
    malloc: string;
    /** convolution filters laid out as the kernels want them: copies made, copies reused, copies held and their bytes */
    filterCache: { copies: number; reuses: number; entries: number; bytes: number };
  };
  sync(): void;
  /**
   * SGD over every parameter at once (native/torch/optim.cc): `handles` holds the n parameters, their
   * n gradients and, when momentum > 0, their n velocities; each parameter's and velocity's handle
   * then holds its updated tensor. `decay[i]` is 1 where weight decay applies.
   */
  sgdStep(handles: Uint32Array, decay: Uint8Array, hyper: SgdHyper): void;
  /**
   * A network's forward pass as one call (native/torch/model.cc; the op list from fused-model.ts):
   * `handles` are the input then the weights, `requiresGrad` one flag each, `flags` 1 = training,
   * 2 = record autograd. Returns the logits (and, training, each batch norm's new running mean
   * and variance), encoded as `run` returns outputs.
   */
  modelForward(ops: Int32Array, nums: Float64Array, handles: Uint32Array, requiresGrad: Uint8Array, flags: number): number[];
  /** The gradients of recorded logits (given dy) with respect to the forward call's handles at `which` (0: the input). */
  modelBackward(logits: number, dy: number, which: Uint32Array): number[];
  /**
   * The gradient of the summed cross entropy of the eval-mode logits against `labels` with respect
   * to the input (handle 0 of `handles`, then the weights), in one call; encoded as `run` returns outputs.
   */
  modelInputGrad(ops: Int32Array, nums: Float64Array, handles: Uint32Array, labels: number): number[];
}

/** The hyperparameters of one SGD update (PyTorch's semantics; see src/train/sgd.ts). */
export interface SgdHyper {
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}

const BUILD_HINT = 'apt-get install libtorch-dev && bash scripts/build-native.sh (scripts/setup.sh does both)';

export function addonPath(): string {
  return process.env.PIAT_TORCH_ADDON || path.join(PACKAGE_ROOT, 'native', 'build', 'torch_backend.node');
}

let loaded: TorchNative | undefined;

/** The addon, loaded once; a PiatError naming the file and the build command when it cannot load. */
export function loadTorchNative(): TorchNative {
  if (loaded) return loaded;
  const file = addonPath();
  if (!fs.existsSync(file)) {
    throw new PiatError('backend-unavailable', `torch backend: ${file} does not exist. Build it with: ${BUILD_HINT}`);
  }
  // OpenMP threads that busy-wait at every barrier slow down 4x or more as soon as another process
  // wants a core (measured: a small CNN's PGD step 117 -> 456 ms with one busy process on 2 cores;
  // 111 ms when waiting threads sleep), and sleep costs ~2 % alone (ResNet-18 step). libgomp reads
  // this when the addon loads it; a user's own setting wins.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(file) as TorchNative;
  } catch (e) {
    const first = String((e as Error).message ?? e).split('\n')[0];
    throw new PiatError(
      'backend-unavailable',
      `torch backend: ${file} did not load: ${first}\n` +
        (/libtorch|libc10|\.so/.test(first) ? `The libtorch libraries are missing: ${BUILD_HINT}` : `Rebuild it: ${BUILD_HINT}`),
    );
  }
  return loaded;
}
