/**
 * Starts the `torch` backend: loads the addon, sets ATen's thread count (PIAT_THREADS, default
 * every core) and device (PIAT_DEVICE: cuda when the build and machine have it, else cpu),
 * registers the backend and its kernels with tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { PiatError } from '../../util/errors';
import { cpuCount, positiveIntEnv } from '../../util/environment';
import { loadTorchNative, addonPath, TorchNative } from './native';
import { TorchBackend } from './backend';
import { registerTorchKernels, TORCH_BACKEND } from './kernels';
import { torchFallbacks } from './fallback';

export { torchFallbacks, TORCH_BACKEND };

export interface TorchInfo {
  libtorch: string;
  device: string;
  threads: number;
  parallel: string;
  /** where convolutions keep activations (PIAT_TORCH_CONV_LAYOUT; default auto:128) */
  convLayout: string;
  /** what happens to freed tensor memory (PIAT_TORCH_MALLOC; default keep: reused warm, never page-faulted again) */
  malloc: string;
  addon: string;
  nativeKernels: number;
  /** tfjs kernels that would run on the cpu fallback if called */
  fallbackKernels: string[];
}

let started: TorchInfo | undefined;
let startedNative: TorchNative | undefined;

function threadsFromEnv(): number {
  return positiveIntEnv('PIAT_THREADS') ?? cpuCount();
}

/**
 * An addon setting read from the environment: `apply` passes the value to the addon, which checks it;
 * its error (naming the variable and the choices) becomes a PiatError. Unset: `fallback`, if any.
 */
function settingFromEnv(name: string, apply: (value: string) => unknown, fallback?: string): void {
  const want = process.env[name]?.trim() || fallback;
  if (!want) return;
  try {
    apply(want);
  } catch (e) {
    throw new PiatError('bad-option', (e as Error).message);
  }
}

function chooseDevice(native: TorchNative): string {
  const want = process.env.PIAT_DEVICE?.trim();
  if (want) {
    native.setDevice(want); // throws naming why when CUDA is not there
    return want;
  }
  if (native.info().cuda) {
    native.setDevice('cuda');
    return 'cuda';
  }
  return 'cpu';
}

/** Registers and activates the torch backend (idempotent). Throws a PiatError when the addon cannot load. */
export async function startTorch(): Promise<TorchInfo> {
  if (!started) {
    const native = loadTorchNative();
    startedNative = native;
    native.setThreads(threadsFromEnv());
    // PIAT_TORCH_CONV_LAYOUT: auto | auto:<channels> | nchw | nhwc (unset: auto:128)
    settingFromEnv('PIAT_TORCH_CONV_LAYOUT', (v) => native.setConvLayout(v));
    // PIAT_TORCH_MALLOC: keep (default) keeps freed tensor memory for the next tensors; release hands
    // it back as glibc does (lower resident memory after a peak, slower fresh pages); see SetMalloc
    settingFromEnv('PIAT_TORCH_MALLOC', (v) => native.setMalloc(v), 'keep');
    chooseDevice(native);
    const { native: nativeKernels, fallback } = registerTorchKernels(native.kernels());
    tf.registerBackend(TORCH_BACKEND, () => new TorchBackend(native), 3);
    const i = native.info();
    started = {
      libtorch: i.libtorch,
      device: i.device,
      threads: i.threads,
      parallel: i.parallel.split('\n')[0],
      convLayout: i.convLayout,
      malloc: i.malloc,
      addon: addonPath(),
      nativeKernels: nativeKernels.length,
      fallbackKernels: fallback,
    };
  }
  if (!(await tf.setBackend(TORCH_BACKEND))) throw new PiatError('backend-unavailable', 'torch backend: registered but did not start');
  await tf.ready();
  return started;
}

/**
 * Sets ATen's thread count of the started backend (as PIAT_THREADS does at start), e.g. to re-train a
 * run with the thread count it recorded: a sum's order, and so its last bits, depend on it.
 */
export function setTorchThreads(n: number): TorchInfo {
  if (!started || !startedNative) throw new PiatError('backend-not-initialised', 'setTorchThreads: the torch backend has not started');
  if (!Number.isInteger(n) || n < 1) throw new PiatError('bad-option', `ATen threads must be a positive integer, got ${n}`);
  startedNative.setThreads(n);
  const i = startedNative.info();
  started = { ...started, threads: i.threads, parallel: i.parallel.split('\n')[0] };
  return started;
}
